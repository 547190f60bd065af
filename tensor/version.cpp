#include "tensor/version.h"

namespace ha {
const char* version() { return HATTN_VERSION; }
}  // namespace ha
