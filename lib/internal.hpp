// Forwarding header: the core moved to lib/core/. Kept so that "../internal.hpp"
// from lib/<component>/ keeps resolving; new code includes "internal.hpp" (lib/core
// is on the include path of the library and of grove_internal_dep).
#pragma once
#include "core/internal.hpp"
