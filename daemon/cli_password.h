// CLI passwords: reading one from stdin (--password-stdin) or from the
// terminal without echo.
//
// A prompt turns echo off on stdin and restores it afterwards, also when
// the user presses Ctrl-C in the middle (a SIGINT handler puts the terminal
// back before the default action ends the process). It refuses to prompt
// when stdin is not a terminal, so a script that forgot --password-stdin
// fails instead of hanging.
//
// Thread-safety: one caller at a time (it changes the terminal and the
// SIGINT disposition for the duration of a prompt).
#pragma once

#include <string>

#include "core/result.h"

namespace lg::cli {

// The first line of stdin, without its line ending. Error "usage" if stdin
// is empty.
Result<std::string> ReadPasswordLine();

// Writes `prompt` to stderr and reads one line with echo off. Error "usage"
// if stdin is not a terminal, "cancelled" on end of input.
Result<std::string> PromptPassword(const std::string& prompt);

}  // namespace lg::cli
