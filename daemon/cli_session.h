// The CLI's saved login: one token in $XDG_CONFIG_HOME/liftguard/token
// (else ~/.config/liftguard/token), readable by its owner only.
//
// SaveToken writes a new file with mode 0600 in a 0700 folder and renames
// it over the old one, so the token is never readable by others, not even
// for a moment, and a crash leaves the old file or the new one.
//
// Thread-safety: plain functions; concurrent savers race on the rename
// (the last one wins), which is harmless.
#pragma once

#include <string>

#include "core/result.h"

namespace lg::cli {

// Where the token lives; error "usage" when neither XDG_CONFIG_HOME nor a
// home folder is known.
Result<std::string> TokenPath();

// The saved token, or "" when there is none.
Result<std::string> LoadToken();
Status SaveToken(const std::string& token);
// True if there was a file to remove.
Result<bool> RemoveToken();

}  // namespace lg::cli
