/*
 * example_adapter.c - a complete finetuned adapter written in plain C, against the public
 * header only. It serves as the ABI's executable documentation and as a test fixture.
 *
 * Build:  cc -shared -fPIC -I plugins/abi/include -o libfinetuned-adapter-example.so example_adapter.c
 *
 * The imaginary "example.text-v1:0" model takes {"input": ..., "max_new_tokens": n} and answers
 * {"output": ..., "finish": "done"|"limit"}. A real adapter would use a JSON library; this one
 * relies on the host's documented argument format (compact JSON) to stay dependency-free.
 *
 * Test-only switches: -DEXAMPLE_ABI_MAJOR=N builds a table claiming another ABI major,
 * -DEXAMPLE_BROKEN_DESCRIBE returns an invalid description, -DEXAMPLE_NO_ENTRY omits the entry,
 * -DEXAMPLE_CORPUS adds the two models the validation corpus is written against.
 */
#include <stdlib.h>
#include <string.h>

#include "finetuned_adapter.h"

#ifndef EXAMPLE_ABI_MAJOR
#define EXAMPLE_ABI_MAJOR FINETUNED_ADAPTER_ABI_MAJOR
#endif

static const char *description =
#ifdef EXAMPLE_BROKEN_DESCRIBE
    "{\"name\":\"example\",\"version\":\"1.0.0\",\"models\":[{\"id\":\"example.text-v1:0\"}]}";
#else
    "{\"name\":\"example\",\"version\":\"1.0.0\",\"description\":\"An adapter written in C.\","
    "\"models\":[{\"id\":\"example.text-v1:0\",\"display_name\":\"Example Text\",\"inference_id\":\"example.text-v1\","
    "\"lifecycle\":{\"legacy_date\":\"2030-01-01\"},"
    "\"record\":{\"format\":\"fields\",\"fields\":["
    "{\"name\":\"prompt\",\"type\":\"string\",\"counts_as\":\"input\"},"
    "{\"name\":\"completion\",\"type\":\"string\",\"counts_as\":\"output\"}]},"
    "\"limits\":{\"characters_per_token\":4,\"max_total_tokens\":1024,\"min_training_records\":10},"
    "\"hyperparameters\":["
    "{\"name\":\"epochCount\",\"type\":\"integer\",\"min\":1,\"max\":3,\"default\":1,\"description\":\"Passes.\"},"
    "{\"name\":\"learningRate\",\"type\":\"float\",\"min\":0.0001,\"max\":0.01,\"default\":0.001,\"description\":\"Step.\"}],"
    "\"prices\":{\"as_of\":\"2026-11-01\",\"currency\":\"USD\",\"training_per_1k_tokens\":0.004,"
    "\"throughput_per_model_unit_hour\":7.5}}"
#ifdef EXAMPLE_CORPUS
    ",{\"id\":\"corpus.fields-v1\",\"inference_id\":\"corpus.fields-v1\","
    "\"record\":{\"format\":\"fields\",\"fields\":["
    "{\"name\":\"prompt\",\"type\":\"string\",\"counts_as\":\"input\"},"
    "{\"name\":\"completion\",\"type\":\"string\",\"counts_as\":\"output\"}]},"
    "\"limits\":{\"max_input_tokens\":4096,\"max_output_tokens\":2048,\"min_training_records\":2,"
    "\"max_training_records\":50},\"hyperparameters\":[]},"
    "{\"id\":\"corpus.conversation-v1\",\"inference_id\":\"corpus.conversation-v1\","
    "\"record\":{\"format\":\"conversation\",\"conversation\":{\"schema_version\":\"bedrock-conversation-2024\"}},"
    "\"limits\":{\"max_total_tokens\":16000,\"min_total_records\":2,\"max_total_records\":50},\"hyperparameters\":[]}"
#endif
    "]}";
#endif

static char *copy(const char *text) {
    size_t n = strlen(text);
    char *out = malloc(n + 1);
    if (out) memcpy(out, text, n + 1);
    return out;
}

/* The still-escaped contents of the JSON string that follows `"key":"` in `json`, or NULL. */
static char *raw_string_after(const char *json, const char *key) {
    char pattern[64];
    size_t keylen = strlen(key);
    if (keylen + 5 > sizeof pattern) return NULL;
    pattern[0] = '"';
    memcpy(pattern + 1, key, keylen);
    memcpy(pattern + 1 + keylen, "\":\"", 4);
    const char *start = strstr(json, pattern);
    if (!start) return NULL;
    start += keylen + 4;
    const char *end = start;
    while (*end && *end != '"') end += (*end == '\\' && end[1]) ? 2 : 1;
    if (*end != '"') return NULL;
    char *out = malloc((size_t)(end - start) + 1);
    if (!out) return NULL;
    memcpy(out, start, (size_t)(end - start));
    out[end - start] = 0;
    return out;
}

/* Undoes one level of \" and \\ escaping (enough to read a body the host passed as a string). */
static void unescape_quotes(char *s) {
    char *w = s;
    for (char *r = s; *r; r++) {
        if (r[0] == '\\' && (r[1] == '"' || r[1] == '\\')) r++;
        *w++ = *r;
    }
    *w = 0;
}

static char *describe(void) { return copy(description); }

static char *build_invoke_request(const char *request) {
    char *prompt = raw_string_after(request, "prompt");
    if (!prompt) return copy("{\"error\":\"no prompt in the request\"}");
    const char *prefix = "{\"body\":{\"input\":\"";
    const char *suffix = "\",\"max_new_tokens\":256}}";
    char *out = malloc(strlen(prefix) + strlen(prompt) + strlen(suffix) + 1);
    if (out) {
        strcpy(out, prefix);
        strcat(out, prompt);
        strcat(out, suffix);
    }
    free(prompt);
    return out;
}

static char *parse_invoke_response(const char *response) {
    char *body = raw_string_after(response, "body");
    if (!body) return copy("{\"error\":\"no body\"}");
    unescape_quotes(body);
    char *output = raw_string_after(body, "output");
    char *finish = raw_string_after(body, "finish");
    free(body);
    if (!output) {
        free(finish);
        return copy("{\"error\":\"the response has no output\"}");
    }
    const char *reason = finish && strcmp(finish, "limit") == 0 ? "length" : "complete";
    size_t n = strlen(output) + 64;
    char *out = malloc(n);
    if (out) {
        strcpy(out, "{\"text\":\"");
        strcat(out, output);
        strcat(out, "\",\"stop_reason\":\"");
        strcat(out, reason);
        strcat(out, "\"}");
    }
    free(output);
    free(finish);
    return out;
}

static char *check_record(const char *record) {
    if (strstr(record, "lorem ipsum")) {
        return copy("{\"problems\":[{\"severity\":\"warning\",\"message\":\"the record contains placeholder text (lorem ipsum)\"}]}");
    }
    return copy("{\"problems\":[]}");
}

static void free_string(char *s) { free(s); }

static const finetuned_adapter_v1 table = {
    .abi_major = EXAMPLE_ABI_MAJOR,
    .abi_minor = FINETUNED_ADAPTER_ABI_MINOR,
    .size = sizeof(finetuned_adapter_v1),
    .describe = describe,
    .build_invoke_request = build_invoke_request,
    .parse_invoke_response = parse_invoke_response,
    .check_record = check_record,
    .free_string = free_string,
};

#ifndef EXAMPLE_NO_ENTRY
const finetuned_adapter_v1 *finetuned_adapter_entry(void) { return &table; }
#else
const finetuned_adapter_v1 *some_other_symbol(void) { return &table; }
#endif
