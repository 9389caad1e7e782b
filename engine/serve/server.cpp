// The exporter: one HTTP loop, a sweep thread, and the last complete sweep as a snapshot.
#include "serve/server.hpp"

namespace urlprobe::serve {}  // namespace urlprobe::serve
