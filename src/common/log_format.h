#pragma once
// Log lines are `key=value` fields on one line (journald-friendly). A value that came from
// outside — a request path, an error message quoting a request, a file name — must not be able
// to end the line or forge fields: LogValue writes it bare when it is a plain token, quoted
// otherwise; EscapeLogText makes any text safe for one line (the logger runs every message
// through it, so no value, quoted or not, can start a line of its own).

#include <string>
#include <string_view>

namespace reach {

// `text` with every control character (and DEL) escaped: \n \r \t as such, the rest as \xNN.
// Bytes of 0x80 and above (UTF-8) are kept. Appends to `out`.
void EscapeLogText(std::string_view text, std::string& out);

// `text` as a field's value: as it is when it is non-empty and made only of letters, digits and
// `_ - . / : @ + , ~ % [ ] ( )` (or UTF-8), else in double quotes with `"` and `\` escaped by a
// backslash and control characters escaped as by EscapeLogText.
std::string LogValue(std::string_view text);

// Always quoted, as LogValue quotes (for reason="..." fields, which read the same either way).
std::string LogQuoted(std::string_view text);

}  // namespace reach
