// The only dsl/ file besides cron.cc that talks to date-tz. With USE_OS_TZDB (how Debian builds
// the library) the database is the system's /usr/share/zoneinfo, read once on first use; the
// lookup itself is a search in an in-memory table, so names such as "../etc/passwd" are simply
// not found.
#include "dsl/time_zone.h"

#include <exception>

#include <date/tz.h>

namespace reach::dsl {

bool IsKnownTimeZone(std::string_view name) {
  if (name.empty()) return false;
  try {
    return date::locate_zone(name) != nullptr;
  } catch (const std::exception&) {
    // locate_zone throws std::runtime_error for names it does not know (and could throw if the
    // database cannot be read at all); either way the name is not usable.
    return false;
  }
}

}  // namespace reach::dsl
