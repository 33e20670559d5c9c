// grove — the umbrella header: core (greenlets, hub, timeouts, waiting),
// the sync sublibrary, and cooperative I/O.
//
// Link with the `grove` and `grove-sync` dependencies (pkg-config names
// alike). For the sync sublibrary alone: <grove/sync.hpp>; for the libc hooks:
// <grove/monkey.hpp> and `grove-hooks`.
#pragma once

#include <grove/deterministic.hpp>
#include <grove/duration.hpp>
#include <grove/exceptions.hpp>
#include <grove/greenlet.hpp>
#include <grove/hub.hpp>
#include <grove/io.hpp>
#include <grove/local.hpp>
#include <grove/spawner.hpp>
#include <grove/sync.hpp>
#include <grove/timeout.hpp>
#include <grove/wait.hpp>
#include <grove/waiter.hpp>
