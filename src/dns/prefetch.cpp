// Batch prefetching: guess the catalog lookup a query will make and warm the cache lines on its
// path, one stage at a time across a batch, so the misses of many queries overlap instead of
// queueing one after another. A wrong guess costs a few wasted loads and changes no answer.
#include <cstring>

#include "beacon/catalog/entries.h"
#include "beacon/dns/answer.h"
#include "beacon/dns/wire.h"

namespace beacon::dns {
namespace {

bool LabelIs(const uint8_t* l, const char* word, size_t n) {
  if (l[0] != n) return false;
  for (size_t i = 0; i < n; ++i) {
    uint8_t c = l[1 + i];
    if (c >= 'A' && c <= 'Z') c = static_cast<uint8_t>(c - 'A' + 'a');
    if (c != static_cast<uint8_t>(word[i])) return false;
  }
  return true;
}

}  // namespace

PrefetchKey PrefetchKeyOf(const uint8_t* pkt, size_t len) {
  PrefetchKey k;
  if (len < kHeaderSize + 1 || (pkt[2] & 0x80) != 0) return k;
  const uint8_t* labels[32];
  int n = 0;
  size_t i = kHeaderSize;
  while (i < len && pkt[i] != 0 && n < 32) {
    if (pkt[i] > 63 || i + 1 + pkt[i] > len) return k;
    labels[n++] = pkt + i;
    i += pkt[i] + 1u;
  }
  // The rightmost "service" or "node" label decides the map; the labels before it the key.
  int kind_at = -1;
  bool service = false;
  for (int j = n - 1; j >= 0; --j) {
    if (LabelIs(labels[j], "service", 7)) {
      kind_at = j;
      service = true;
      break;
    }
    if (LabelIs(labels[j], "node", 4)) {
      kind_at = j;
      break;
    }
  }
  if (kind_at <= 0) return k;
  char key[256];
  size_t kl = 0;
  auto append = [&](const uint8_t* l, size_t skip) {
    for (size_t c = 1 + skip; c <= l[0] && kl < sizeof key; ++c) {
      uint8_t ch = l[c];
      if (ch >= 'A' && ch <= 'Z') ch = static_cast<uint8_t>(ch - 'A' + 'a');
      key[kl++] = static_cast<char>(ch);
    }
  };
  if (service) {
    const bool rfc = kind_at == 2 && labels[0][0] > 1 && labels[0][1] == '_' && labels[1][0] > 1 &&
                     labels[1][1] == '_';
    if (rfc) {
      append(labels[0], 1);
    } else {
      append(labels[kind_at - 1], 0);
    }
    k.map = 1;
  } else {
    for (int j = 0; j < kind_at; ++j) {
      if (j > 0 && kl < sizeof key) key[kl++] = '.';
      append(labels[j], 0);
    }
    k.map = 2;
  }
  k.hash = catalog::HashKey(std::string_view(key, kl));
  return k;
}

void PrefetchStage(const catalog::Snapshot& snap, PrefetchKey& k, int stage) {
  if (k.map == 1) {
    if (stage < 2) {
      snap.services.Prefetch(k.hash, stage);
      return;
    }
    if (stage == 2) {  // the leaf is warm: find the entry once and keep it for the later stages
      k.entry = snap.services.PeekHash(k.hash);
      if (k.entry != nullptr) __builtin_prefetch(k.entry);
      return;
    }
    const catalog::ServiceEntry* e = k.entry;
    if (e == nullptr) return;
    if (stage == 3) {
      const char* p = reinterpret_cast<const char*>(e->instances.data());
      const size_t bytes = e->instances.size() * sizeof(catalog::Instance);
      for (size_t off = 0; off < bytes && off < 512; off += 64) __builtin_prefetch(p + off);
      return;
    }
    // Stage 4: the nodes of the first instances (addresses and SRV target names live there).
    const size_t n = e->instances.size() < 4 ? e->instances.size() : 4;
    for (size_t i = 0; i < n; ++i) __builtin_prefetch(e->instances[i].node.get());
  } else if (k.map == 2 && stage < 3) {
    snap.nodes.Prefetch(k.hash, stage);
  }
}

}  // namespace beacon::dns
