#pragma once
// Time-zone names and local-time arithmetic over the IANA database (howardhinnant date-tz,
// reading the system's /usr/share/zoneinfo).

#include <cstdint>
#include <string_view>

namespace reach::dsl {

// True when `name` is a zone the database knows ("Asia/Shanghai", "UTC").
bool IsKnownTimeZone(std::string_view name);

}  // namespace reach::dsl
