// Go's time.Format layouts for UTC; see timefmt.h.
#include "timefmt.h"

#include <cstdio>

namespace beacon::tmpl {
namespace {

constexpr const char* kMonths[] = {"January",   "February", "March",    "April",
                                   "May",       "June",     "July",     "August",
                                   "September", "October",  "November", "December"};
constexpr const char* kDays[] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                 "Thursday", "Friday", "Saturday"};

std::string Num(long v, int width, char pad = '0') {
  std::string s = std::to_string(v);
  while (static_cast<int>(s.size()) < width) s.insert(s.begin(), pad);
  return s;
}

bool Starts(std::string_view s, size_t i, std::string_view p) {
  return s.substr(i, p.size()) == p;
}

}  // namespace

std::string FormatTime(std::chrono::system_clock::time_point t, std::string_view l) {
  using namespace std::chrono;
  auto secs = floor<seconds>(t);
  auto day = floor<days>(secs);
  year_month_day ymd{day};
  hh_mm_ss hms{secs - day};
  long nanos = static_cast<long>(duration_cast<nanoseconds>(t - secs).count());
  long year = static_cast<int>(ymd.year()), month = static_cast<unsigned>(ymd.month()),
       mday = static_cast<unsigned>(ymd.day());
  long hour = hms.hours().count(), minute = hms.minutes().count(), sec = hms.seconds().count();
  long wday = static_cast<long>(weekday{day}.c_encoding());
  long yday = (day - sys_days{year_month_day{ymd.year(), January, 1d}}).count() + 1;
  long h12 = hour % 12 == 0 ? 12 : hour % 12;
  std::string out;
  for (size_t i = 0; i < l.size();) {
    auto take = [&](std::string_view p, const std::string& v) {
      if (!Starts(l, i, p)) return false;
      out += v;
      i += p.size();
      return true;
    };
    char c = l[i];
    bool done = false;
    switch (c) {
      case 'J':
        done = take("January", kMonths[month - 1]) ||
               take("Jan", std::string(kMonths[month - 1]).substr(0, 3));
        break;
      case 'M':
        done = take("Monday", kDays[wday]) || take("Mon", std::string(kDays[wday]).substr(0, 3)) ||
               take("MST", "UTC");
        break;
      case '0':
        done = take("01", Num(month, 2)) || take("02", Num(mday, 2)) || take("03", Num(h12, 2)) ||
               take("04", Num(minute, 2)) || take("05", Num(sec, 2)) ||
               take("06", Num(year % 100, 2)) || take("002", Num(yday, 3));
        break;
      case '1':
        done = take("15", Num(hour, 2)) || take("1", std::to_string(month));
        break;
      case '2':
        done = take("2006", Num(year, 4)) || take("2", std::to_string(mday));
        break;
      case '_':
        done = take("__2", Num(yday, 3, ' ')) || take("_2006", "_" + Num(year, 4)) ||
               take("_2", Num(mday, 2, ' '));
        break;
      case '3':
        done = take("3", std::to_string(h12));
        break;
      case '4':
        done = take("4", std::to_string(minute));
        break;
      case '5':
        done = take("5", std::to_string(sec));
        break;
      case 'P':
        done = take("PM", hour >= 12 ? "PM" : "AM");
        break;
      case 'p':
        done = take("pm", hour >= 12 ? "pm" : "am");
        break;
      case 'Z':
        done = take("Z07:00:00", "Z") || take("Z070000", "Z") || take("Z07:00", "Z") ||
               take("Z0700", "Z") || take("Z07", "Z");
        break;
      case '-':
        done = take("-07:00:00", "+00:00:00") || take("-070000", "+000000") ||
               take("-07:00", "+00:00") || take("-0700", "+0000") || take("-07", "+00");
        break;
      case '.':
      case ',': {
        size_t j = i + 1;
        char d = j < l.size() ? l[j] : 0;
        if (d == '0' || d == '9') {
          while (j < l.size() && l[j] == d) ++j;
          if (j >= l.size() || l[j] < '0' || l[j] > '9') {
            size_t n = j - i - 1;
            std::string frac = Num(nanos, 9).substr(0, n > 9 ? 9 : n);
            if (d == '9') {
              while (!frac.empty() && frac.back() == '0') frac.pop_back();
              if (!frac.empty()) out += c + frac;
            } else {
              out += c + frac;
            }
            i = j;
            done = true;
          }
        }
        break;
      }
      default:
        break;
    }
    if (!done) out += l[i++];
  }
  return out;
}

}  // namespace beacon::tmpl
