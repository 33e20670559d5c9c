// Forwarding header: the core moved to lib/core/. Kept so that "../context.hpp"
// from lib/<component>/ keeps resolving; new code includes "context.hpp" (lib/core
// is on the include path of the library and of grove_internal_dep).
#pragma once
#include "core/context.hpp"
