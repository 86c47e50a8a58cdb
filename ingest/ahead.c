/*
 * Jobs run ahead on a second thread (see ahead.h): one mutex, a condition
 * for "a job is done" and one for "a slot was released".
 */
#include "ingest/ahead.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>

struct cp_ahead {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t done_cv, free_cv;
    size_t n, window, batch, slot_size;
    size_t done;      /* jobs finished: 0..done-1 */
    size_t released;  /* slots given back: 0..released-1 */
    size_t waiting;   /* the job the thread waits to run, + 1; 0 when not waiting */
    int stop;
    cp_ahead_job job;
    void *ctx;
    unsigned char *slots;
};

static void *slot_of(struct cp_ahead *a, size_t i)
{
    return a->slots + (i % a->window) * a->slot_size;
}

static void *run(void *p)
{
    struct cp_ahead *a = p;

    for (size_t i = 0; i < a->n; i++) {
        pthread_mutex_lock(&a->mu);
        if (i >= a->released + a->window) { /* full: wait for batch free slots */
            a->waiting = i + 1;
            while (!a->stop && i + a->batch > a->released + a->window)
                pthread_cond_wait(&a->free_cv, &a->mu);
            a->waiting = 0;
        }
        if (a->stop) {
            pthread_mutex_unlock(&a->mu);
            break;
        }
        pthread_mutex_unlock(&a->mu);
        a->job(a->ctx, i, slot_of(a, i));
        pthread_mutex_lock(&a->mu);
        a->done = i + 1;
        pthread_cond_signal(&a->done_cv);
        pthread_mutex_unlock(&a->mu);
    }
    return NULL;
}

struct cp_ahead *cp_ahead_start(size_t n, size_t window, size_t batch, size_t slot_size,
                                cp_ahead_job job, void *ctx)
{
    struct cp_ahead *a;
    sigset_t all, old;
    int rc;

    if (window == 0 || batch == 0 || batch > window || slot_size == 0)
        return NULL;
    a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->slots = calloc(window, slot_size);
    if (!a->slots) {
        free(a);
        return NULL;
    }
    a->n = n;
    a->window = window;
    a->batch = batch;
    a->slot_size = slot_size;
    a->job = job;
    a->ctx = ctx;
    pthread_mutex_init(&a->mu, NULL);
    pthread_cond_init(&a->done_cv, NULL);
    pthread_cond_init(&a->free_cv, NULL);
    /* Signals stay with the main thread. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = pthread_create(&a->thread, NULL, run, a);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        pthread_cond_destroy(&a->free_cv);
        pthread_cond_destroy(&a->done_cv);
        pthread_mutex_destroy(&a->mu);
        free(a->slots);
        free(a);
        return NULL;
    }
    return a;
}

void *cp_ahead_take(struct cp_ahead *a, size_t i)
{
    pthread_mutex_lock(&a->mu);
    while (a->done <= i)
        pthread_cond_wait(&a->done_cv, &a->mu);
    pthread_mutex_unlock(&a->mu);
    return slot_of(a, i);
}

void cp_ahead_release(struct cp_ahead *a, size_t i)
{
    pthread_mutex_lock(&a->mu);
    a->released = i + 1;
    if (a->waiting && a->waiting - 1 + a->batch <= a->released + a->window)
        pthread_cond_signal(&a->free_cv);
    pthread_mutex_unlock(&a->mu);
}

void cp_ahead_stop(struct cp_ahead *a, void (*clear)(void *ctx, void *slot))
{
    if (!a)
        return;
    pthread_mutex_lock(&a->mu);
    a->stop = 1;
    pthread_cond_signal(&a->free_cv);
    pthread_mutex_unlock(&a->mu);
    pthread_join(a->thread, NULL);
    if (clear)
        for (size_t i = a->released; i < a->done; i++)
            clear(a->ctx, slot_of(a, i));
    pthread_cond_destroy(&a->free_cv);
    pthread_cond_destroy(&a->done_cv);
    pthread_mutex_destroy(&a->mu);
    free(a->slots);
    free(a);
}
