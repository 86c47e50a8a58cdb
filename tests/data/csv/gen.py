#!/usr/bin/env python3
"""One-off generator of the CSV reader fixtures (tests/unit/test_csv.c).
The files are committed; run this only to recreate or change them."""
import os

here = os.path.dirname(os.path.abspath(__file__))

def put(name, data):
    with open(os.path.join(here, name), 'wb') as f:
        f.write(data)

# Encodings.
put('utf8.csv', 'signataire;période;valeur\n31D;2021-S1;1\u00a0234\n'.encode('utf-8'))
put('utf8-bom.csv', b'\xef\xbb\xbf' + 'code,libellé\r\n09D,Ariège\r\n'.encode('utf-8'))
put('utf16be.csv', b'\xfe\xff' + 'a;clé\n𝄞;b\n'.encode('utf-16-be'))
put('utf16le-lone.csv', b'\xff\xfe' + 'a'.encode('utf-16-le') + b'\x00\xd8' + 'b\n'.encode('utf-16-le'))
put('utf16le-odd.csv', b'\xff\xfe' + 'ab'.encode('utf-16-le') + b'c')
put('cp1252.csv', 'libellé;montant\r\nœuvre;5 €\r\n«\u00a0x\u00a0»;‰\r\n'.encode('cp1252'))
put('iso15.csv', 'libellé;montant\nœuvre;5 €\n'.encode('iso-8859-15'))
put('latin1.csv', 'région;total\nOccitanie;12\n'.encode('latin-1'))
# Valid UTF-8 "Ł" (C5 81, 0x81 undefined in Windows-1252) then a lone 0xE9.
put('mixed.csv', 'Łódź;x\n'.encode('utf-8') + b'caf\xe9\n')
put('bom-bad.csv', b'\xef\xbb\xbfa;b\nd\xe9j\xe0\n')
put('nul.csv', b'a;b\nc\x00d\n')

# Separators.
put('sep-tab.csv', b'a\tb\tc\n1\t2,5\t3\n')
put('sep-comma.csv', b'a,b,c\n1,"2;5",3\n')
put('sep-pipe.csv', b'a|b|c\n1|2|3\n')
put('sep-tie.csv', b'a;b,c\n')
put('sep-quoted.csv', b'"a,b,c,d";e\n"f,g,h";i\n')

# Quotes, line ends, blank lines, empty fields.
put('quotes.csv',
    b'id;texte;n\r\n'
    b'1;"a;b";x\r\n'
    b'2;"il dit ""oui""";y\r\n'
    b'3;"ligne1\r\nligne2\rligne3\nligne4";z\r\n'
    b'4;"";w\r\n'
    b'5;"fin"\r\n')
put('cr.csv', b'a;b\r1;2\r\r3;4\r')
put('lf.csv', b'a;b\n1;2\n\n3;4\n')
put('mixed-eol.csv', b'a\r\nb\rc\nd\n\re')
put('no-final-newline.csv', b'a;b\n1;2')
put('blank.csv', b'\n\na;b\n\r\n;;\n;\r\n  \nc\n\n')
put('empty-fields.csv', b'a;;c;\n;;;d\n')
put('spaces.csv', b' a ; b \n"x" ;\tz\t\n')
put('unterminated.csv', b'a;b\nc;"d\ne\nf;g\n')
put('unterminated-eof.csv', b'a;"b""')
put('closed-at-eof.csv', b'a;"b"""')
put('columns.csv', b'a;b;c\n1;2;3;4\n')
put('rows.csv', b'n\n1\n2\n3\n4\n5\n')
