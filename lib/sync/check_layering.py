#!/usr/bin/env python3
"""Fails if grove-sync reaches into the core's internals.

lib/sync and include/grove/sync may include only public <grove/...> headers
and the standard library: no quoted include, no lib/ path, no "../".
"""
import pathlib
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')


def violations(root):
    for area in ('lib/sync', 'include/grove/sync'):
        for path in sorted((root / area).rglob('*')):
            if path.suffix not in ('.hpp', '.cpp', '.h', '.ipp'):
                continue
            for number, line in enumerate(path.read_text().splitlines(), 1):
                m = INCLUDE.match(line)
                if not m:
                    continue
                kind, target = m.groups()
                if kind == '"' or '..' in target or target.startswith('lib/'):
                    yield f'{path.relative_to(root)}:{number}: {line.strip()}'


def main():
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else '.').resolve()
    bad = list(violations(root))
    for v in bad:
        print('layering violation:', v)
    if not (root / 'lib/sync').is_dir():
        print('no lib/sync under', root)
        return 2
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
