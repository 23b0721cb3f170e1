#pragma once
// Status and Result are part of libtern's public API; the one definition lives there.
#include "tern/status.h"
