/* What to correct, per rejection code and per rule (see advice.h). */
#include "render/advice.h"

#include <stddef.h>
#include <string.h>

struct advice {
    const char *key, *text;
};

static const struct advice rejections[] = {
    {"bad_encoding", "Enregistrez le fichier en CSV UTF-8 (ou « CSV (séparateur : "
                     "point-virgule) » depuis Excel) et renvoyez-le."},
    {"not_a_number", "Saisissez un nombre dans la cellule indiquée (sans texte ni unité "
                     "autre que %), ou laissez-la vide, ou écrivez NC si la donnée n'est pas "
                     "disponible."},
    {"excel_error", "Remplacez la formule en erreur par sa valeur (ou corrigez la formule) "
                    "dans la cellule indiquée."},
    {"formula_no_value", "Ouvrez le classeur dans Excel ou LibreOffice, recalculez et "
                         "enregistrez-le : la formule de la cellule n'a pas de valeur "
                         "enregistrée."},
    {"unexpected_percent", "Écrivez le pourcentage seulement pour un indicateur exprimé en "
                           "pourcentage ; pour un nombre, retirez le signe %."},
    {"unknown_signatory", "Utilisez le code du signataire tel qu'il figure dans la liste "
                          "nationale (par exemple 31D, M31)."},
    {"ambiguous_signatory", "Indiquez le code du signataire (par exemple 31D) plutôt que son "
                            "nom, qui correspond à plusieurs signataires."},
    {"signatory_not_in_force", "Vérifiez le signataire et la période : ce signataire n'a "
                               "pas de convention en vigueur pour cette période."},
    {"unknown_indicator", "Utilisez le code de l'indicateur du catalogue national (par "
                          "exemple RSA_TX_ORIENT_1M) ou son libellé exact."},
    {"not_applicable", "Retirez cet indicateur : il ne s'applique pas à ce type de "
                       "signataire ou à cette année."},
    {"period_not_allowed", "Indiquez une période permise pour cet indicateur (certains ne "
                           "se déclarent que pour l'année entière)."},
    {"bad_period", "Écrivez la période sous la forme 2022, 2022-S1 ou 2022-S2."},
    {"missing_signatory", "Renseignez le signataire (colonne « signataire » ou cellule "
                          "« Signataire » du modèle)."},
    {"missing_period", "Renseignez la période (colonne « periode » ou cellule « Période » du "
                       "modèle)."},
    {"missing_indicator", "Renseignez le code de l'indicateur sur cette ligne."},
    {"no_header", "Reprenez le modèle de fichier : la ligne d'en-tête (signataire, periode, "
                  "indicateur, valeur…) est introuvable."},
    {"unsupported_format", "Envoyez un fichier CSV, XLSX ou ODS."},
    {"empty_file", "Le fichier est vide : renvoyez le fichier complet."},
    {"unterminated_quote", "Corrigez les guillemets du fichier CSV (un guillemet ouvert "
                           "n'est jamais fermé)."},
    {"field_too_long", "Raccourcissez le texte de la cellule indiquée."},
    {"duplicate", "Ne donnez qu'une valeur par signataire, période et indicateur dans un "
                  "même fichier."},
    {"bad_archive", "Le classeur est endommagé : enregistrez-le de nouveau et renvoyez-le."},
    {"bad_xml", "Le classeur est endommagé : enregistrez-le de nouveau et renvoyez-le."},
    {"too_large", "Envoyez un fichier plus petit (seulement la feuille des indicateurs)."},
};

static const struct advice rules[] = {
    {"BORNES", "Corrigez la valeur : elle sort des bornes du catalogue (un taux est compris "
               "entre 0 et 100, un effectif est un nombre entier)."},
    {"PARTIE_TOUT", "Vérifiez les deux valeurs : une partie ne peut pas dépasser le total "
                    "dont elle fait partie."},
    {"RATIO", "Vérifiez le taux : il doit être égal au numérateur divisé par le "
              "dénominateur, exprimé en points (45 pour 45 %)."},
    {"SOMME", "Vérifiez que le budget total est égal aux crédits de l'État plus le "
              "cofinancement."},
    {"ANNUEL", "Vérifiez que le chiffre annuel est égal à la somme des deux semestres."},
    {"PARITE", "Vérifiez le cofinancement : il doit être au moins égal aux crédits de "
               "l'État."},
    {"EXECUTION", "Vérifiez les dépenses exécutées : elles ne peuvent pas dépasser le "
                  "budget total."},
    {"DELAI", "Vérifiez le délai moyen : avec toutes les orientations en moins d'un mois, il "
              "ne peut pas dépasser 31 jours."},
    {"COMPLETUDE", "Transmettez les indicateurs obligatoires manquants (ou NC s'ils ne sont "
                   "pas disponibles)."},
    {"DOUBLON", "Ne donnez qu'une valeur par indicateur et par période dans le fichier, "
                "puis renvoyez-le."},
    {"EVOLUTION", "Confirmez la valeur ou corrigez-la : elle varie fortement par rapport à "
                  "la même période de l'année précédente."},
    {"ATYPIQUE", "Confirmez la valeur : elle s'écarte nettement de celles des autres "
                 "signataires."},
    {"CIBLE", "Pour information : la cible n'est pas atteinte ; un commentaire peut "
              "l'expliquer."},
    {"HORS_DELAI", "Pour information : le fichier est arrivé après la date limite."},
};

static const char *lookup(const struct advice *v, size_t n, const char *key, const char *dflt)
{
    for (size_t k = 0; key && k < n; k++)
        if (strcmp(v[k].key, key) == 0)
            return v[k].text;
    return dflt;
}

const char *cp_advice_rejection(const char *code)
{
    return lookup(rejections, sizeof rejections / sizeof rejections[0], code,
                  "Corrigez la cellule indiquée selon le message, puis renvoyez le fichier.");
}

const char *cp_advice_finding(const char *rule)
{
    return lookup(rules, sizeof rules / sizeof rules[0], rule,
                  "Vérifiez les valeurs indiquées et corrigez-les ou confirmez-les.");
}
