// bench_gossip_sim: the membership scenarios of membership_sim.h over cluster sizes and seeds,
// printed as one table (virtual time; medians and nearest-rank p99 over seeds).
//
//   bench_gossip_sim [--sizes 10,100,1000] [--seeds K] [--large-seeds K] [--minutes M]
//                    [--partition-s S] [--only detect,fp,slow,meta,heal,idle,catalog,check]
//                    [--warm] [--in-place] [--idle-s S] [--idle-settle-s S] [--first-seed F]
//                    [--eager-gap-ms G] [--ring-probes 0|1]
//   bench_gossip_sim --seed S --replay [--n N] [--trace]
//
// --replay runs every scenario once with seed S at size N, twice, and prints the results and the
// trace hashes (identical runs give identical hashes); --trace also prints every member event.
// --large-seeds applies to sizes >= 1000 (default 2). Wall time goes to stderr. "slow" runs
// N/10 nodes that read every input 1 s late, with Lifeguard and with it off (awareness
// multiplier 1, suspicion max = min), summing false deaths and suspicions over the seeds.
// --warm forms each cluster by preloading every member table (a settled cluster) instead of
// everyone joining through node 0 (whose N^2 rebroadcasts take hours at 10,000). --in-place
// runs idle, meta and detect, in that order, on the formed cluster itself instead of a copy each
// (half the memory); the other scenarios are skipped. --idle-s sets the idle window (360 s).
// --idle-settle-s: idle time before the window with --in-place (10 s; each node's first push-pull
// comes within 30 s of its start). --first-seed F runs seeds F..F+K-1 instead of 1..K (one large
// seed per process). Peak RSS goes to stderr at the end. "check" (only with --only) runs whole
// agents without loss: a service registration, then its check turning critical, each timed to
// every agent's catalog, with the heap per (agent, node) pair (and, up to 1,000, that of bare
// Serf nodes). --eager-gap-ms sets MembershipConfig::eager_gossip_gap_ms for the membership
// scenarios (0: memberlist's tick-only gossip; default 50); --ring-probes 0 probes in
// memberlist's shuffled order instead of Beacon's ring (MembershipConfig::ring_probes).
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "agent_sim.h"
#include "membership_sim.h"

using namespace beacon::sim;
using beacon::gossip::MemberEvent;

namespace {

struct Args {
  std::vector<std::size_t> sizes{10, 100, 1000};
  std::size_t seeds = 5, large_seeds = 2;
  double minutes = 5;
  std::uint64_t partition_ms = 30000;
  std::set<std::string> only;
  bool replay = false, trace = false, warm = false, in_place = false;
  std::uint64_t idle_ms = 360000, first_seed = 1, idle_settle_ms = 10000;
  std::uint64_t seed = 1;
  std::size_t n = 10;
  std::uint64_t eager_gap_ms = beacon::gossip::MembershipConfig{}.eager_gossip_gap_ms;
  bool ring_probes = beacon::gossip::MembershipConfig{}.ring_probes;
  bool Want(const std::string& s) const { return only.empty() || only.count(s) != 0; }
};

std::vector<std::string> Split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string x; std::getline(ss, x, ',');) out.push_back(x);
  return out;
}

Args Parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    auto val = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", k.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (k == "--sizes") {
      a.sizes.clear();
      for (const auto& s : Split(val())) a.sizes.push_back(std::stoul(s));
    } else if (k == "--seeds") {
      a.seeds = std::stoul(val());
    } else if (k == "--large-seeds") {
      a.large_seeds = std::stoul(val());
    } else if (k == "--minutes") {
      a.minutes = std::stod(val());
    } else if (k == "--partition-s") {
      a.partition_ms = std::stoull(val()) * 1000;
    } else if (k == "--only") {
      for (const auto& s : Split(val())) a.only.insert(s);
    } else if (k == "--seed") {
      a.seed = std::stoull(val());
    } else if (k == "--n") {
      a.n = std::stoul(val());
    } else if (k == "--warm") {
      a.warm = true;
    } else if (k == "--in-place") {
      a.in_place = true;
    } else if (k == "--idle-settle-s") {
      a.idle_settle_ms = std::stoull(val()) * 1000;
    } else if (k == "--first-seed") {
      a.first_seed = std::stoull(val());
    } else if (k == "--idle-s") {
      a.idle_ms = std::stoull(val()) * 1000;
    } else if (k == "--ring-probes") {
      a.ring_probes = val() != "0";
    } else if (k == "--eager-gap-ms") {
      a.eager_gap_ms = std::stoull(val());
    } else if (k == "--replay") {
      a.replay = true;
    } else if (k == "--trace") {
      a.trace = true;
    } else {
      std::fprintf(stderr, "unknown argument %s (see the header of bench_gossip_sim.cpp)\n",
                   k.c_str());
      std::exit(2);
    }
  }
  return a;
}

// Nearest-rank percentile of `v` (kNever sorts last, so a missed run shows as "never").
std::uint64_t Pct(std::vector<std::uint64_t> v, double p) {
  if (v.empty()) return kNever;
  std::sort(v.begin(), v.end());
  std::size_t k = static_cast<std::size_t>(p * static_cast<double>(v.size()) + 0.999999);
  k = std::clamp<std::size_t>(k, 1, v.size());
  return v[k - 1];
}

std::string Secs(std::uint64_t ms) {
  if (ms == kNever) return "never";
  char b[32];
  std::snprintf(b, sizeof b, "%.2f", static_cast<double>(ms) / 1000.0);
  return b;
}

double PeakRssGb() {
  struct rusage ru {};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) / (1024.0 * 1024.0);
}

double Wall(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

ClusterOptions Opts(const Args& a, std::size_t n, std::uint64_t seed, bool warm = false) {
  ClusterOptions o;
  o.cfg.eager_gossip_gap_ms = a.eager_gap_ms;
  o.cfg.ring_probes = a.ring_probes;
  o.n = n;
  o.seed = seed;
  o.warm = warm;
  o.link = LinkSpec{0, 1, 2};
  return o;
}

// Where a kill's detection time goes: the first suspicion (first probe of the victim after the
// kill + one probe interval), then the suspect message's spread to half, 99% and all nodes.
void LogDetect(std::size_t n, std::uint64_t seed, const DetectResult& d) {
  std::fprintf(stderr,
               "n=%zu seed %llu detect: first suspect %s s (n%zu), half %s s, 99%% %s s, all %s "
               "s, all dead %s s\n",
               n, static_cast<unsigned long long>(seed), Secs(d.first_suspect_ms).c_str(),
               d.first_suspecter, Secs(d.half_suspect_ms).c_str(), Secs(d.p99_suspect_ms).c_str(),
               Secs(d.all_suspect_or_dead_ms).c_str(), Secs(d.all_dead_ms).c_str());
}

int Replay(const Args& a) {
  ClusterOptions o = Opts(a, a.n, a.seed);
  if (a.trace) {
    o.trace = [](std::size_t obs, std::uint64_t now, const MemberEvent& e) {
      std::printf("%10.3f n%zu %d %s inc=%u\n", static_cast<double>(now) / 1000.0, obs,
                  static_cast<int>(e.kind), e.member.name.c_str(), e.member.incarnation);
    };
  }
  bool same = true;
  for (int run = 1; run <= 2; ++run) {
    FormResult fr;
    const auto c = FormCluster(o, &fr);
    std::printf("run %d seed %llu n %zu: formed in %s s\n", run,
                static_cast<unsigned long long>(a.seed), a.n, Secs(fr.form_ms).c_str());
    if (!c) return 1;
    const DetectResult d = FailureDetection(*c);
    const SpreadResult m = MetaDissemination(*c);
    const PartitionResult p = PartitionHeal(*c, a.partition_ms, 600000, 30000);
    const FalsePositiveResult f = FalsePositives(*c, 0.10, a.minutes, a.n / 10, 2000, 15000);
    static std::uint64_t first[4];
    const std::uint64_t h[4] = {d.trace, m.trace, p.trace, f.trace};
    std::printf(
        "  detect: suspect-or-dead everywhere %s s, dead everywhere %s s, collateral %llu"
        "  trace %016llx\n",
        Secs(d.all_suspect_or_dead_ms).c_str(), Secs(d.all_dead_ms).c_str(),
        static_cast<unsigned long long>(d.false_dead), static_cast<unsigned long long>(d.trace));
    std::printf("  meta: p50 %s s p99 %s s all %s s  trace %016llx\n", Secs(m.p50_ms).c_str(),
                Secs(m.p99_ms).c_str(), Secs(m.all_ms).c_str(),
                static_cast<unsigned long long>(m.trace));
    std::printf(
        "  partition %s s: split seen %s s, heal (Serf-style reconnect) %s s  trace %016llx\n",
        Secs(a.partition_ms).c_str(), Secs(p.all_dead_across_ms).c_str(), Secs(p.heal_ms).c_str(),
        static_cast<unsigned long long>(p.trace));
    std::printf(
        "  10%% loss + stalls %.1f min: healthy declared dead %llu (nodes %zu), stalled "
        "declared dead %llu, suspicions %llu  trace %016llx\n",
        a.minutes, static_cast<unsigned long long>(f.false_dead_events), f.falsely_dead_nodes,
        static_cast<unsigned long long>(f.stalled_dead_events),
        static_cast<unsigned long long>(f.suspect_events),
        static_cast<unsigned long long>(f.trace));
    for (int i = 0; i < 4; ++i) {
      if (run == 1) first[i] = h[i];
      same = same && first[i] == h[i];
    }
  }
  std::printf("replay %s\n", same ? "identical (trace hashes match)" : "DIFFERS");
  return same ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  const Args a = Parse(argc, argv);
  if (a.replay) return Replay(a);
  std::printf(
      "Membership (memberlist LAN defaults) on the simulator: links 1-3 ms, seeds 1..K;\n"
      "times in virtual seconds, p50 = median over seeds, p99 = nearest rank over seeds\n"
      "(the max when K < 100).\n\n");
  std::printf(
      "| N | seeds | form s | B/member entry | idle B/s/node | idle pkt/s/node "
      "| suspect-or-dead p50/p99 | dead p50/p99 | meta all p50/p99 | meta 99%% nodes p50 "
      "| heal after %s s split p50/p99 | same + Serf-style reconnect "
      "| Serf+CatalogSync: service in every catalog p50/p99 | same at 10%% loss "
      "| Serf agents: heal after the split p50/p99 | N/10 slow readers (1 s input lag) + 10%% "
      "loss: false dead, suspicions | same, "
      "Lifeguard off | false dead @10%% "
      "loss | @10%% + stalls |\n",
      Secs(a.partition_ms).c_str());
  std::printf("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
  for (std::size_t n : a.sizes) {
    const std::size_t k = n >= 1000 ? a.large_seeds : a.seeds;
    std::vector<std::uint64_t> form, sus, dead, meta_all, meta99, heal, heal_rc, cat, cat_loss,
        serf_heal, check_all, check99;
    std::uint64_t fp = 0, fp_stall = 0, slow_dead = 0, slow_sus = 0, off_dead = 0, off_sus = 0;
    std::uint64_t slow_by_healthy = 0, off_by_healthy = 0;
    std::size_t slow_runs = 0;
    std::size_t fp_runs = 0;
    IdleResult idle;
    FormResult mem;
    for (std::uint64_t s = a.first_seed; s < a.first_seed + k; ++s) {
      auto t0 = std::chrono::steady_clock::now();
      FormResult fr;
      const bool membership =
          a.only.empty() || a.only.size() > a.only.count("catalog") + a.only.count("check");
      if (!a.only.empty() && a.Want("check")) {  // whole agents, lossless: register, then check
        if (n <= 1000) {
          std::fprintf(stderr, "n=%zu seed %llu bare Serf nodes: %.0f B per (node, member) pair\n",
                       n, static_cast<unsigned long long>(s), SerfBytesPerPair(n, s));
        }
        const AgentSpreadResult r = CatalogDissemination(n, s, 0);
        cat.push_back(r.all_ms);
        check_all.push_back(r.check_all_ms);
        check99.push_back(r.check_p99_ms);
        std::fprintf(stderr,
                     "n=%zu seed %llu agents: formed %s s, %.0f B per (agent, node) pair; "
                     "service p50 %s all %s s; check change p50 %s p99 %s all %s s; %.1f s "
                     "wall, peak RSS %.2f GB\n",
                     n, static_cast<unsigned long long>(s), Secs(r.form_ms).c_str(),
                     r.bytes_per_pair, Secs(r.p50_ms).c_str(), Secs(r.all_ms).c_str(),
                     Secs(r.check_p50_ms).c_str(), Secs(r.check_p99_ms).c_str(),
                     Secs(r.check_all_ms).c_str(), Wall(t0), PeakRssGb());
        t0 = std::chrono::steady_clock::now();
      }
      if (a.Want("catalog")) {
        cat.push_back(CatalogDissemination(n, s, 0).all_ms);
        cat_loss.push_back(CatalogDissemination(n, s, 0.10).all_ms);
        serf_heal.push_back(AgentPartitionHeal(n, s, a.partition_ms, 300000));
        std::fprintf(stderr, "n=%zu seed %llu catalog %.1f s wall\n", n,
                     static_cast<unsigned long long>(s), Wall(t0));
        t0 = std::chrono::steady_clock::now();
      }
      if (!membership) continue;
      const auto c = FormCluster(Opts(a, n, s, a.warm), &fr);
      form.push_back(fr.form_ms);
      std::fprintf(stderr, "n=%zu seed %llu formed in %s s virtual, %.1f s wall\n", n,
                   static_cast<unsigned long long>(s), Secs(fr.form_ms).c_str(), Wall(t0));
      if (!c) continue;
      if (s == a.first_seed) mem = fr;
      auto lap = [&](const char* what) {
        std::fprintf(stderr, "n=%zu seed %llu %s %.1f s wall\n", n,
                     static_cast<unsigned long long>(s), what, Wall(t0));
        t0 = std::chrono::steady_clock::now();
      };
      if (a.in_place) {  // idle, meta, then detect (it kills a node) on the cluster itself
        if (s == a.first_seed && a.Want("idle")) {
          idle = IdleBandwidthInPlace(*c, a.idle_ms, a.idle_settle_ms);
          lap("idle");
        }
        if (a.Want("meta")) {
          const SpreadResult m = MetaDisseminationInPlace(*c);
          meta_all.push_back(m.all_ms);
          meta99.push_back(m.p99_ms);
          std::fprintf(stderr, "n=%zu seed %llu meta p50 %s p99 %s all %s\n", n,
                       static_cast<unsigned long long>(s), Secs(m.p50_ms).c_str(),
                       Secs(m.p99_ms).c_str(), Secs(m.all_ms).c_str());
          lap("meta");
        }
        if (a.Want("detect")) {
          const DetectResult d = FailureDetectionInPlace(*c);
          LogDetect(n, s, d);
          sus.push_back(d.all_suspect_or_dead_ms);
          dead.push_back(d.all_dead_ms);
          fp += d.false_dead;
          lap("detect");
        }
        continue;
      }
      if (s == a.first_seed && a.Want("idle")) {
        idle = IdleBandwidth(*c, a.idle_ms);
        lap("idle");
      }
      if (a.Want("detect")) {
        const DetectResult d = FailureDetection(*c);
        LogDetect(n, s, d);
        sus.push_back(d.all_suspect_or_dead_ms);
        dead.push_back(d.all_dead_ms);
        fp += d.false_dead;
        lap("detect");
      }
      if (a.Want("meta")) {
        const SpreadResult m = MetaDissemination(*c);
        meta_all.push_back(m.all_ms);
        meta99.push_back(m.p99_ms);
        lap("meta");
      }
      if (a.Want("heal")) {
        heal.push_back(PartitionHeal(*c, a.partition_ms, 300000).heal_ms);
        heal_rc.push_back(PartitionHeal(*c, a.partition_ms, 300000, 30000).heal_ms);
        lap("heal");
      }
      if (a.Want("slow")) {  // Lifeguard's case, with Lifeguard and without (LHM, dynamic timer)
        const std::size_t slow = std::max<std::size_t>(1, n / 10);
        const FalsePositiveResult on = FalsePositives(*c, 0.10, a.minutes, slow, 1000, 1, true);
        ClusterOptions off = Opts(a, n, s);
        off.cfg.awareness_max_multiplier = 1;
        off.cfg.suspicion_max_timeout_mult = 1;
        const auto c_off = FormCluster(off);
        if (c_off) {
          const FalsePositiveResult r =
              FalsePositives(*c_off, 0.10, a.minutes, slow, 1000, 1, true);
          off_dead += r.false_dead_events;
          off_by_healthy += r.false_dead_by_healthy;
          off_sus += r.suspect_events;
        }
        slow_dead += on.false_dead_events;
        slow_by_healthy += on.false_dead_by_healthy;
        slow_sus += on.suspect_events;
        ++slow_runs;
        lap("slow");
      }
      if (a.Want("fp")) {
        fp += FalsePositives(*c, 0.10, a.minutes, 0, 0, 1).false_dead_events;
        fp_stall +=
            FalsePositives(*c, 0.10, a.minutes, std::max<std::size_t>(1, n / 20), 2000, 15000)
                .false_dead_events;
        ++fp_runs;
        lap("fp");
      }
    }
    auto pair = [](const std::vector<std::uint64_t>& v) {
      return v.empty() ? std::string("-") : Secs(Pct(v, 0.5)) + " / " + Secs(Pct(v, 0.99));
    };
    char fpcol[64] = "-", fpscol[64] = "-", slowcol[96] = "-", offcol[96] = "-";
    if (slow_runs) {
      std::snprintf(slowcol, sizeof slowcol, "%llu (%llu by healthy), %llu",
                    static_cast<unsigned long long>(slow_dead),
                    static_cast<unsigned long long>(slow_by_healthy),
                    static_cast<unsigned long long>(slow_sus));
      std::snprintf(offcol, sizeof offcol, "%llu (%llu by healthy), %llu",
                    static_cast<unsigned long long>(off_dead),
                    static_cast<unsigned long long>(off_by_healthy),
                    static_cast<unsigned long long>(off_sus));
    }
    if (fp_runs) {
      std::snprintf(fpcol, sizeof fpcol, "%llu in %zu x %.0f min",
                    static_cast<unsigned long long>(fp), fp_runs, a.minutes);
      std::snprintf(fpscol, sizeof fpscol, "%llu (%zu stalled 2 s/15 s)",
                    static_cast<unsigned long long>(fp_stall), std::max<std::size_t>(1, n / 20));
    }
    std::printf("| %zu | %zu | %s | %.0f | %.0f | %.1f | %s | %s | %s | %s | %s | %s | %s |\n", n,
                k, form.empty() ? "-" : Secs(Pct(form, 0.5)).c_str(), mem.bytes_per_entry,
                idle.mean_bytes_per_s, idle.mean_packets_per_s, pair(sus).c_str(),
                pair(dead).c_str(), pair(meta_all).c_str(),
                meta99.empty() ? "-" : Secs(Pct(meta99, 0.5)).c_str(),
                (pair(heal) + " | " + pair(heal_rc) + " | " + pair(cat) + " | " + pair(cat_loss) +
                 " | " + pair(serf_heal) + " | " + slowcol + " | " + offcol)
                    .c_str(),
                fpcol, fpscol);
    if (!check_all.empty()) {
      std::printf(
          "N=%zu whole agents: a check change in every agent's catalog %s s (p50 / p99 "
          "over %zu seeds; 99%% of agents: %s s)\n",
          n, pair(check_all).c_str(), check_all.size(), pair(check99).c_str());
    }
    std::fflush(stdout);
  }
  std::fprintf(stderr, "peak RSS %.2f GB\n", PeakRssGb());
  return 0;
}
