// Whether a PAC script's answer may depend on the URL's path (route/pac/tokenizer.cpp): a small
// JavaScript tokenizer and a look at the entry function, for PacScript::reads_path.
#pragma once

#include <string_view>

namespace urlprobe::route::detail {

// False only when `function`'s first parameter provably never reaches anything but the script's
// own functions' same-placed parameters (see PacScript::reads_path); true when in doubt.
bool reads_path(std::string_view source, std::string_view function);

}  // namespace urlprobe::route::detail
