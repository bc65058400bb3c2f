// `beacon snapshot inspect` formatting: Go's text/tabwriter columns and Consul's byte sizes.
#include <doctest/doctest.h>

#include "internal.h"

using beacon::cli::ByteSize;
using beacon::cli::TabWrite;

TEST_CASE("snapshot inspect: ByteSize as Consul's inspect.ByteSize") {
  CHECK(ByteSize(0) == "0");
  CHECK(ByteSize(62) == "62B");
  CHECK(ByteSize(1024) == "1KB");
  CHECK(ByteSize(1741) == "1.7KB");
  CHECK(ByteSize(3 << 20) == "3MB");
  CHECK(ByteSize(uint64_t{5} << 30) == "5GB");
}

TEST_CASE("snapshot inspect: tabwriter columns as Consul's formatter (minwidth 8, padding 6)") {
  // Consul 1.x output for a two-type snapshot, tab-terminated cells padded, the last not.
  std::string out =
      TabWrite({" ID\t2-5-1477944140022", " Size\t667", " Index\t5", " Term\t2", " Version\t1", "",
                " Type\tCount\tSize\t", " ----\t----\t----\t", " Register\t3\t1.7KB\t",
                " KVS\t1\t62B\t", " ----\t----\t----\t", " Total\t\t1.8KB\t"},
               8, 6);
  CHECK(out ==
        " ID           2-5-1477944140022\n"
        " Size         667\n"
        " Index        5\n"
        " Term         2\n"
        " Version      1\n"
        "\n"
        " Type          Count      Size       \n"
        " ----          ----       ----       \n"
        " Register      3          1.7KB      \n"
        " KVS           1          62B        \n"
        " ----          ----       ----       \n"
        " Total                    1.8KB      ");
}
