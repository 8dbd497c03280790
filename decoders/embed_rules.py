#!/usr/bin/env python3
"""Embed a YARA source file as a C string: embed_rules.py NAME IN.yar OUT.c"""
import sys

name, src, dst = sys.argv[1], sys.argv[2], sys.argv[3]
with open(src, 'rb') as f:
    data = f.read()
lines = ['/* generated from %s by embed_rules.py; do not edit */' % src.rsplit('/', 1)[-1],
         'const char mc_rules_%s[] =' % name]
for line in data.split(b'\n'):
    esc = ''.join(c if 32 <= ord(c) < 127 and c not in '"\\?' else '\\%03o' % ord(c)
                  for c in (line + b'\n').decode('latin-1'))
    lines.append('    "%s"' % esc)
lines.append('    ;')
with open(dst, 'w') as f:
    f.write('\n'.join(lines) + '\n')
