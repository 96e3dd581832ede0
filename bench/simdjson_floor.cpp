// A reference for issue 17's instruction targets, not part of the runtime: simdjson (the fastest
// validating JSON parser we know of) on the same event, counted by callgrind the way
// lr_bench_invoke counts the bootstrap's invoke path. Collection is meant to be on only inside
// bench_measured_parse():
//
//   valgrind --tool=callgrind --toggle-collect=bench_measured_parse \
//     build-bench/bench/lr_simdjson_floor event.json [westmere|haswell|fallback] [walk]
//
// With LR_SIMDJSON_TIMES=N it also times N more parses and prints their median in ms (bench.py's
// in-process time of simdjson, next to the floors' times).
//
// It parses the whole event into simdjson's DOM (every byte validated: syntax, UTF-8, nesting,
// numbers), and with "walk" also visits every value of it once, reading each string (what turning
// the records into typed structs costs at the least). Built only when simdjson's CMake package is
// found (Debian: libsimdjson-dev).
#include <simdjson.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace {

size_t walk(simdjson::dom::element e)
{
    size_t n = 1;
    switch (e.type()) {
    case simdjson::dom::element_type::OBJECT: {
        simdjson::dom::object obj = e.get_object().value_unsafe(); // a copy: the result is a temporary
        for (auto field : obj)
            n += field.key.size() + walk(field.value);
        break;
    }
    case simdjson::dom::element_type::ARRAY: {
        simdjson::dom::array arr = e.get_array().value_unsafe();
        for (auto v : arr)
            n += walk(v);
        break;
    }
    case simdjson::dom::element_type::STRING:
        n += e.get_string().value_unsafe().size();
        break;
    default:
        break;
    }
    return n;
}


// On-Demand: no tape, strings read in place where they have no escape; visiting every value is what
// validates it (stage 1 has checked UTF-8 and the structure of the whole text).
size_t walk_od(simdjson::ondemand::value v)
{
    size_t n = 1;
    switch (v.type().value_unsafe()) {
    case simdjson::ondemand::json_type::object:
        for (auto field : v.get_object().value_unsafe())
            n += field.unescaped_key().value_unsafe().size() + walk_od(field.value().value_unsafe());
        break;
    case simdjson::ondemand::json_type::array:
        for (auto e : v.get_array().value_unsafe())
            n += walk_od(e.value_unsafe());
        break;
    case simdjson::ondemand::json_type::string:
        n += v.get_string().value_unsafe().size();
        break;
    case simdjson::ondemand::json_type::number:
        n += v.get_number().error() == simdjson::SUCCESS;
        break;
    case simdjson::ondemand::json_type::boolean:
        n += v.get_bool().error() == simdjson::SUCCESS;
        break;
    default:
        n += v.is_null();
        break;
    }
    return n;
}

simdjson::ondemand::parser od_parser;

size_t parse_od(const simdjson::padded_string *json)
{
    simdjson::ondemand::document doc;
    if (od_parser.iterate(*json).get(doc) != simdjson::SUCCESS)
        return 0;
    simdjson::ondemand::object top;
    if (doc.get_object().get(top) != simdjson::SUCCESS)
        return 0;
    size_t n = 0;
    for (auto field : top)
        n += walk_od(field.value().value_unsafe());
    return n;
}

__attribute__((noinline)) size_t parse(simdjson::dom::parser *parser,
                                       const simdjson::padded_string *json, bool walk_it)
{
    if (walk_it && std::getenv("LR_SIMDJSON_ONDEMAND") != nullptr)
        return parse_od(json);
    simdjson::dom::element doc;
    if (parser->parse(*json).get(doc) != simdjson::SUCCESS)
        return 0;
    return walk_it ? walk(doc) : 1;
}

} // namespace

// The measured call; the warm-up calls parse() directly, so that callgrind counts this one only.
extern "C" __attribute__((noinline)) size_t
bench_measured_parse(simdjson::dom::parser *parser, const simdjson::padded_string *json, bool walk_it)
{
    return parse(parser, json, walk_it);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s EVENT.json [IMPLEMENTATION] [walk]\n", argv[0]);
        return 2;
    }
    if (argc > 2) {
        auto impl = simdjson::get_available_implementations()[argv[2]];
        if (impl == nullptr || !impl->supported_by_runtime_system()) {
            std::fprintf(stderr, "%s: implementation %s is not available here\n", argv[0], argv[2]);
            return 2;
        }
        simdjson::get_active_implementation() = impl;
    }
    bool walk_it = argc > 3 && std::strcmp(argv[3], "walk") == 0;
    simdjson::padded_string json;
    if (simdjson::padded_string::load(argv[1]).get(json) != simdjson::SUCCESS) {
        std::fprintf(stderr, "%s: cannot read %s\n", argv[0], argv[1]);
        return 1;
    }
    simdjson::dom::parser parser;
    parse(&parser, &json, walk_it); // warm-up: the parser allocates its buffers here
    size_t n = bench_measured_parse(&parser, &json, walk_it);
    if (n == 0) {
        std::fprintf(stderr, "%s: %s is not valid JSON\n", argv[0], argv[1]);
        return 1;
    }
    const char *times = std::getenv("LR_SIMDJSON_TIMES");
    if (times != nullptr && std::atoi(times) > 0) {
        std::vector<double> ms;
        for (int i = 0; i < std::atoi(times); i++) {
            auto t0 = std::chrono::steady_clock::now();
            parse(&parser, &json, walk_it);
            ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                             .count());
        }
        std::nth_element(ms.begin(), ms.begin() + ms.size() / 2, ms.end());
        std::printf("p50_ms %.3f\n", ms[ms.size() / 2]);
    }
    std::printf("%s: %zu bytes, implementation %s, %zu values and string bytes visited\n", argv[0],
                json.size(), simdjson::get_active_implementation()->name().c_str(), n);
    return 0;
}
