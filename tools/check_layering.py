#!/usr/bin/env python3
"""Fails when a part of grove includes a part above it.

The layers, bottom up (a part may include its own layer's files and any
layer below it, never a sibling or anything above):

    core -> {sync, io} -> {hooks, tls} -> http

util is plugged in from the side: it may include core and io (public or
private headers), and nothing in lib/ or include/ includes util, neither
lib/util/ nor <grove/util.hpp> / <grove/events.hpp>; only tests and tools
do. The core learns about util through lib/core/observer.hpp, which util
implements.

Every #include of a file under lib/ or include/grove/ is checked, quoted
includes resolved like the compiler does (the including file's folder,
then lib/, then include/). Usage: check_layering.py [SOURCE_ROOT] [--graph]
(--graph prints the layer-to-layer include counts instead of checking).

Also checked: the core's files live in lib/core/ and nothing else sits
loose in lib/; <ev.h> is included by lib/core/loop.cpp alone and
Boost.Context (<boost/context/...>) by lib/core/context.cpp alone; no
public header includes <ev.h> or names an ev_* type, except hub.hpp's
forward declaration of struct ev_loop for Hub::loop(), the escape hatch
the API promises. The greenlet's runtime record stays private: no public
header includes a file under lib/, and none names the record's types
(GreenletState, ContextState, PendingInterrupts) or GreenletRecord other
than as the opaque pointer GreenletBase holds.
lib/sync/check_layering.py (test sync:layering) adds the stricter rule for
sync: public <grove/...> headers only.
"""
import pathlib
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')
SOURCES = ('.hpp', '.cpp', '.h', '.ipp')

# What each layer may include besides itself.
ALLOWED = {
    'core': set(),
    'sync': {'core'},
    'io': {'core'},
    'hooks': {'core', 'sync', 'io'},
    'tls': {'core', 'sync', 'io'},
    'http': {'core', 'sync', 'io', 'hooks', 'tls'},
    'util': {'core', 'io'},
    'umbrella': {'core', 'sync', 'io', 'hooks', 'tls', 'http', 'util'},
}

# Public headers outside the core, by path under include/grove/.
PUBLIC = {
    'sync.hpp': 'sync',
    'sync/': 'sync',
    'io.hpp': 'io',
    'io/': 'io',
    'monkey.hpp': 'hooks',
    'tls.hpp': 'tls',
    'tls/': 'tls',
    'http.hpp': 'http',
    'http/': 'http',
    'util.hpp': 'util',
    'events.hpp': 'util',
    'grove.hpp': 'umbrella',
}

PRIVATE = {'sync', 'io', 'hooks', 'tls', 'http', 'util', 'core'}


def layer_of(root, path):
    """The layer of a file under lib/ or include/grove/, else None."""
    try:
        rel = path.resolve().relative_to(root)
    except ValueError:
        return None
    parts = rel.parts
    if len(parts) >= 2 and parts[0] == 'lib':
        if len(parts) >= 3 and parts[1] in PRIVATE:
            return parts[1]
        return None
    if len(parts) >= 3 and parts[:2] == ('include', 'grove'):
        inner = '/'.join(parts[2:])
        for prefix, layer in PUBLIC.items():
            if inner == prefix or (prefix.endswith('/') and inner.startswith(prefix)):
                return layer
        return 'core'
    return None


def resolve(root, including, kind, target):
    candidates = []
    if kind == '"':
        candidates.append(including.parent / target)
    candidates += [root / 'lib' / target, root / 'lib' / 'core' / target, root / 'include' / target]
    for c in candidates:
        if c.is_file():
            return c
    return None


def edges(root):
    for area in ('lib', 'include/grove'):
        for path in sorted((root / area).rglob('*')):
            if path.suffix not in SOURCES:
                continue
            source = layer_of(root, path)
            if source is None:
                continue
            for number, line in enumerate(path.read_text().splitlines(), 1):
                m = INCLUDE.match(line)
                if not m:
                    continue
                found = resolve(root, path, *m.groups())
                target = layer_of(root, found) if found else None
                if target is not None:
                    yield source, target, f'{path.relative_to(root)}:{number}: {line.strip()}'


def violations(root):
    for source, target, where in edges(root):
        if target != source and target not in ALLOWED[source]:
            yield f'{source} includes {target}: {where}'


ONE_FILE = {  # an include pattern -> the only file allowed to include it
    re.compile(r'^\s*#\s*include\s*<ev\.h>'): 'lib/core/loop.cpp',
    re.compile(r'^\s*#\s*include\s*<boost/context/'): 'lib/core/context.cpp',
}
EV_NAME = re.compile(r'\bev_\w+|\bEV_[A-Z]+\b')
RECORD_NAME = re.compile(r'\b(GreenletState|ContextState|PendingInterrupts|GreenletRecord)\b')
# The only ways a public header may name the record: declare it, point at it.
RECORD_OPAQUE = re.compile(r'^\s*(struct GreenletRecord;|detail::GreenletRecord\* record_;)\s*$')


def rule_violations(root):
    for path in sorted((root / 'lib').iterdir()):
        if path.is_file() and path.name != 'meson.build':
            yield f'loose in lib/ (the core lives in lib/core/): {path.relative_to(root)}'
    for area in ('lib', 'include/grove'):
        for path in sorted((root / area).rglob('*')):
            if path.suffix not in SOURCES:
                continue
            rel = str(path.relative_to(root))
            for number, line in enumerate(path.read_text().splitlines(), 1):
                for pattern, owner in ONE_FILE.items():
                    if pattern.match(line) and rel != owner:
                        yield f'only {owner} may include this: {rel}:{number}: {line.strip()}'
                if area == 'include/grove' and not line.lstrip().startswith('//'):
                    m = INCLUDE.match(line)
                    found = resolve(root, path, *m.groups()) if m else None
                    if found and (root / 'lib') in found.resolve().parents:
                        yield f'public header includes a private one: {rel}:{number}: {line.strip()}'
                    if RECORD_NAME.search(line) and not RECORD_OPAQUE.match(line):
                        yield f'public header names the greenlet record: {rel}:{number}: {line.strip()}'
                    for name in EV_NAME.findall(line):
                        if rel == 'include/grove/hub.hpp' and name == 'ev_loop':
                            continue  # struct ev_loop; and Hub::loop(): the documented escape hatch
                        yield f'public header names libev: {rel}:{number}: {line.strip()}'


def main(argv):
    args = [a for a in argv[1:] if not a.startswith('--')]
    root = pathlib.Path(args[0] if args else '.').resolve()
    if not (root / 'lib').is_dir():
        print('no lib/ under', root)
        return 2
    if '--graph' in argv:
        counts = {}
        for source, target, _ in edges(root):
            if source != target:
                counts[(source, target)] = counts.get((source, target), 0) + 1
        for (source, target), n in sorted(counts.items()):
            print(f'{source} -> {target}: {n}')
        return 0
    bad = list(violations(root)) + list(rule_violations(root))
    for v in bad:
        print('layering violation:', v)
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
