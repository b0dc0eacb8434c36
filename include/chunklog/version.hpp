// Version of the chunklog software and of the wire protocol it speaks.
#pragma once

namespace chunklog {
inline constexpr const char* software_version = "0.1.0";
inline constexpr const char* protocol_version = "0.1";
}  // namespace chunklog
