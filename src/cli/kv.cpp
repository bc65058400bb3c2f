// `beacon kv get|put|delete` (Consul's command/kv texts and exit codes).
#include <fstream>
#include <iterator>
#include <ostream>
#include <sstream>

#include "internal.h"

namespace beacon::cli {
namespace {

std::string KvPath(std::string_view key) {
  return "/v1/kv/" + http::UrlEscape(key, true);
}

bool ParsePair(simdjson::dom::element e, KvPair* p) {
  p->key = GetString(e, "Key");
  p->session = GetString(e, "Session");
  p->flags = GetUint(e, "Flags");
  p->create_index = GetUint(e, "CreateIndex");
  p->modify_index = GetUint(e, "ModifyIndex");
  p->lock_index = GetUint(e, "LockIndex");
  std::string_view v;
  p->value.clear();
  if (e["Value"].get(v) == simdjson::SUCCESS) return Base64Decode(v, &p->value);
  return true;
}

std::string StripSlash(std::string key) {
  if (!key.empty() && key[0] == '/') key.erase(0, 1);
  return key;
}

}  // namespace

// Reads DATA as Consul does: "@file", "-" (stdin) or the literal.
Status ReadData(const std::string& data, Io& io, std::string* out) {
  if (data.empty()) {
    out->clear();
    return Status::Ok();
  }
  if (data[0] == '@') {
    std::ifstream f(data.substr(1), std::ios::binary);
    if (!f) {
      return Status::Error("Failed to read file: open " + data.substr(1) +
                           ": no such file or directory");
    }
    out->assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
    return Status::Ok();
  }
  if (data == "-") {
    out->assign(std::istreambuf_iterator<char>(io.in), std::istreambuf_iterator<char>());
    return Status::Ok();
  }
  *out = data;
  return Status::Ok();
}

int KvGet(const Args& args, Io& io) {
  config::FlagSet fs;
  bool b64 = false;
  bool detailed = false;
  bool keys = false;
  bool recurse = false;
  std::string separator = "/";
  fs.Bool("base64", &b64, "Base64 encode the value. The default value is false.");
  fs.Bool("detailed", &detailed,
          "Provide additional metadata about the key in addition to the value such as the "
          "ModifyIndex and any flags that may have been set on the key. The default value is "
          "false.");
  fs.Bool("keys", &keys,
          "List keys which start with the given prefix, but not their values. This is "
          "especially useful if you only need the key names themselves. This option is commonly "
          "combined with the -separator option. The default value is false.");
  fs.Bool("recurse", &recurse,
          "Recursively look at all keys prefixed with the given path. The default value is "
          "false.");
  fs.String("separator", &separator,
            "String to use as a separator between keys. The default value is \"/\", but this "
            "option is only taken into account when paired with the -keys flag.");
  HttpFlags hf;
  hf.Register(&fs, true);
  constexpr std::string_view kHelp = R"(
Usage: beacon kv get [options] [KEY_OR_PREFIX]

  Retrieves the value from Consul's key-value store at the given key name. If no
  key exists with that name, an error is returned. If a key exists with that
  name but has no data, nothing is returned. If the name or prefix is omitted,
  it defaults to "" which is the root of the key-value store.

  To retrieve the value for the key named "foo" in the key-value store:

      $ beacon kv get foo

  This will return the original, raw value stored in Consul. To view detailed
  information about the key, specify the "-detailed" flag. This will output all
  known metadata about the key including ModifyIndex and any user-supplied
  flags:

      $ beacon kv get -detailed foo

  To treat the path as a prefix and list all keys which start with the given
  prefix, specify the "-recurse" flag:

      $ beacon kv get -recurse foo

  This will return all key-value pairs. To just list the keys which start with
  the specified prefix, use the "-keys" option instead:

      $ beacon kv get -keys foo
)";
  int rc = ParseFlags(&fs, args, kHelp, io);
  if (rc >= 0) return rc;
  if (fs.Args().size() > 1) return TooMany(fs, 1, io);
  const std::string key = StripSlash(fs.Args().empty() ? "" : fs.Args()[0]);
  if (key.empty() && !(recurse || keys)) {
    io.err << "Error! Missing KEY argument\n";
    return 1;
  }
  http::HttpClient client(hf.Options(io));
  std::string path = KvPath(key);
  AddQuery(&path, hf.Query());
  if (keys) {
    AddQuery(&path, "keys");
    AddQuery(&path, "separator=" + http::UrlEscape(separator));
  } else if (recurse) {
    AddQuery(&path, "recurse");
  }
  http::ClientResponse r;
  simdjson::dom::parser p;
  simdjson::dom::array arr;
  if (Status st = GetJson(client, path, p, &arr, true, &r); !st.ok()) {
    return Fail(io, "Error querying Consul agent", st);
  }
  const bool found = r.status == 200;
  if (keys) {
    if (found) {
      for (simdjson::dom::element e : arr) {
        std::string_view k;
        if (e.get(k) == simdjson::SUCCESS) io.out << k << "\n";
      }
    }
    return 0;
  }
  if (recurse) {
    if (!found) return 0;
    size_t i = 0;
    const size_t n = arr.size();
    for (simdjson::dom::element e : arr) {
      KvPair pair;
      ParsePair(e, &pair);
      if (detailed) {
        io.out << KvDetailed(pair, b64) << "\n";
        if (i + 1 < n) io.out << "\n";
      } else {
        io.out << pair.key << ":" << (b64 ? Base64Encode(pair.value) : pair.value) << "\n";
      }
      ++i;
    }
    return 0;
  }
  if (!found || arr.size() == 0) {
    io.err << "Error! No key exists at: " << key << "\n";
    return 1;
  }
  KvPair pair;
  ParsePair(arr.at(0).value_unsafe(), &pair);
  if (detailed) {
    io.out << KvDetailed(pair, b64) << "\n";
  } else {
    io.out << (b64 ? Base64Encode(pair.value) : pair.value) << "\n";
  }
  return 0;
}

int KvPut(const Args& args, Io& io) {
  config::FlagSet fs;
  bool cas = false;
  uint64_t flags = 0;
  bool b64 = false;
  uint64_t modify_index = 0;
  std::string session;
  bool acquire = false;
  bool release = false;
  fs.Bool("cas", &cas,
          "Perform a Check-And-Set operation. Specifying this value also requires the "
          "-modify-index flag to be set. The default value is false.");
  fs.Uint("flags", &flags,
          "Unsigned integer value to assign to this key-value pair. This value is not read by "
          "Consul, so clients can use this value however makes sense for their use case. The "
          "default value is 0 (no flags).");
  fs.Bool("base64", &b64, "Treat the data as base 64 encoded. The default value is false.");
  fs.Uint("modify-index", &modify_index,
          "Unsigned integer representing the ModifyIndex of the key. This is used in "
          "combination with the -cas flag.");
  fs.String("session", &session,
            "User-defined identifer for this session as a string. This is commonly used with "
            "the -acquire and -release operations to build robust locking, but it can be set on "
            "any key. The default value is empty (no session).");
  fs.Bool("acquire", &acquire,
          "Obtain a lock on the key. If the key does not exist, this operation will create the "
          "key and obtain the lock. The session must already exist and be specified via the "
          "-session flag. The default value is false.");
  fs.Bool("release", &release,
          "Forfeit the lock on the key at the given path. This requires the -session flag to "
          "be set. The key must be held by the session in order to be unlocked. The default "
          "value is false.");
  HttpFlags hf;
  hf.Register(&fs, true);
  constexpr std::string_view kHelp = R"(
Usage: beacon kv put [options] KEY [DATA]

  Writes the data to the given path in the key-value store. The data can be of
  any type.

      $ beacon kv put config/redis/maxconns 5

  The data can also be consumed from a file on disk by prefixing with the "@"
  symbol. For example:

      $ beacon kv put config/program/license @license.lic

  Or it can be read from stdin using the "-" symbol:

      $ echo "abcd1234" | beacon kv put config/program/license -

  The DATA argument itself is optional. If omitted, this will create an empty
  key-value pair at the specified path:

      $ beacon kv put webapp/beta/active

  If the -base64 flag is specified, the data will be treated as base 64
  encoded.

  To perform a Check-And-Set operation, specify the -cas flag with the
  appropriate -modify-index flag corresponding to the key you want to perform
  the CAS operation on:

      $ beacon kv put -cas -modify-index=844 config/redis/maxconns 5

  Additional flags and more advanced use cases are detailed below.
)";
  int rc = ParseFlags(&fs, args, kHelp, io);
  if (rc >= 0) return rc;
  const Args& rest = fs.Args();
  if (rest.empty()) {
    io.err << "Error! Missing KEY argument\n";
    return 1;
  }
  if (rest.size() > 2) {
    io.err << "Error! Too many arguments (expected 1 or 2, got " << rest.size() << ")\n";
    return 1;
  }
  const std::string key = rest[0];
  std::string data;
  if (rest.size() == 2) {
    // "-foo" is a literal; only a lone "-" reads stdin.
    if (Status st = ReadData(rest[1], io, &data); !st.ok()) {
      io.err << "Error! " << st.message() << "\n";
      return 1;
    }
  }
  if (b64) {
    std::string raw;
    std::string why;
    if (!core::Base64Decode(data, &raw, &why)) {
      io.err << "Error! Cannot base 64 decode data: " << why << "\n";
      return 1;
    }
    data = std::move(raw);
  }
  if ((release || acquire) && session.empty()) {
    io.err << "Error! Missing -session (required with -acquire and -release)\n";
    return 1;
  }
  if (cas && modify_index == 0) {
    io.err << "Must specify -modify-index with -cas!\n";
    return 1;
  }
  http::HttpClient client(hf.Options(io));
  std::string path = KvPath(key);
  if (!hf.datacenter.empty()) AddQuery(&path, "dc=" + http::UrlEscape(hf.datacenter));
  if (flags != 0) AddQuery(&path, "flags=" + std::to_string(flags));
  if (cas) AddQuery(&path, "cas=" + std::to_string(modify_index));
  if (acquire) AddQuery(&path, "acquire=" + http::UrlEscape(session));
  if (release) AddQuery(&path, "release=" + http::UrlEscape(session));
  http::ClientResponse r;
  Status st = Call(client, "PUT", path, data, &r);
  const bool ok = st.ok() && r.body.find("true") != std::string::npos;
  if (cas) {
    if (!st.ok()) {
      io.err << "Error! Did not write to " << key << ": " << st.message() << "\n";
      return 1;
    }
    if (!ok) {
      io.err << "Error! Did not write to " << key << ": CAS failed\n";
      return 1;
    }
    io.out << "Success! Data written to: " << key << "\n";
  } else if (acquire) {
    if (!st.ok()) {
      return Fail(io, "Error! Failed writing data", st);
    }
    if (!ok) {
      io.err << "Error! Did not acquire lock\n";
      return 1;
    }
    io.out << "Success! Lock acquired on: " << key << "\n";
  } else if (release) {
    if (!st.ok()) {
      io.err << "Error! Failed writing data: " << key << "\n";
      return 1;
    }
    if (!ok) {
      io.err << "Error! Did not release lock\n";
      return 1;
    }
    io.out << "Success! Lock released on: " << key << "\n";
  } else {
    if (!st.ok()) {
      return Fail(io, "Error! Failed writing data", st);
    }
    io.out << "Success! Data written to: " << key << "\n";
  }
  return 0;
}

int KvDelete(const Args& args, Io& io) {
  config::FlagSet fs;
  bool cas = false;
  uint64_t modify_index = 0;
  bool recurse = false;
  fs.Bool("cas", &cas,
          "Perform a Check-And-Set operation. Specifying this value also requires the "
          "-modify-index flag to be set. The default value is false.");
  fs.Uint("modify-index", &modify_index,
          "Unsigned integer representing the ModifyIndex of the key. This is used in "
          "combination with the -cas flag.");
  fs.Bool("recurse", &recurse,
          "Recursively delete all keys with the path. The default value is false.");
  HttpFlags hf;
  hf.Register(&fs, true);
  constexpr std::string_view kHelp = R"(
Usage: beacon kv delete [options] KEY_OR_PREFIX

  Removes the value from Consul's key-value store at the given path. If no
  key exists at the path, no action is taken.

  To delete the value for the key named "foo" in the key-value store:

      $ beacon kv delete foo

  To delete all keys which start with "foo", specify the -recurse option:

      $ beacon kv delete -recurse foo

  This will delete the keys named "foo", "food", and "foo/bar/zip" if they
  existed.
)";
  int rc = ParseFlags(&fs, args, kHelp, io);
  if (rc >= 0) return rc;
  if (fs.Args().size() > 1) return TooMany(fs, 1, io);
  const std::string key = StripSlash(fs.Args().empty() ? "" : fs.Args()[0]);
  if (key.empty() && !recurse) {
    io.err << "Error! Missing KEY argument\n";
    return 1;
  }
  if (cas && modify_index == 0) {
    io.err << "Must specify -modify-index with -cas!\n";
    return 1;
  }
  if (modify_index != 0 && !cas) {
    io.err << "Cannot specify -modify-index without -cas!\n";
    return 1;
  }
  if (recurse && cas) {
    io.err << "Cannot specify both -cas and -recurse!\n";
    return 1;
  }
  http::HttpClient client(hf.Options(io));
  std::string path = KvPath(key);
  if (!hf.datacenter.empty()) AddQuery(&path, "dc=" + http::UrlEscape(hf.datacenter));
  if (recurse) AddQuery(&path, "recurse");
  if (cas) AddQuery(&path, "cas=" + std::to_string(modify_index));
  http::ClientResponse r;
  Status st = Call(client, "DELETE", path, {}, &r);
  if (recurse) {
    if (!st.ok()) {
      io.err << "Error! Did not delete prefix " << key << ": " << st.message() << "\n";
      return 1;
    }
    io.out << "Success! Deleted keys with prefix: " << key << "\n";
    return 0;
  }
  if (cas) {
    if (!st.ok()) {
      io.err << "Error! Did not delete key " << key << ": " << st.message() << "\n";
      return 1;
    }
    if (r.body.find("true") == std::string::npos) {
      io.err << "Error! Did not delete key " << key << ": CAS failed\n";
      return 1;
    }
  } else if (!st.ok()) {
    io.err << "Error deleting key " << key << ": " << st.message() << "\n";
    return 1;
  }
  io.out << "Success! Deleted key: " << key << "\n";
  return 0;
}

}  // namespace beacon::cli
