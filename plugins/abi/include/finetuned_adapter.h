/*
 * finetuned_adapter.h - the C ABI between finetuned and its model adapter plugins.
 *
 * An adapter is a shared library (libfinetuned-adapter-NAME.so) that exports one symbol,
 * `finetuned_adapter_entry`, returning a pointer to a static table of plain C functions.
 * Everything else crosses the boundary as NUL-terminated UTF-8 JSON text, so an adapter can
 * be written in any language that can export a C function (C, Rust, Swift with AdapterKit).
 *
 * Memory: every string a plugin function returns is allocated by the plugin and handed back
 * to it through `free_string` once the host has copied it. The host never frees plugin memory
 * itself, and the plugin never keeps pointers to the host's argument strings after returning.
 *
 * Threads: the host may call any function from any thread, concurrently. Functions must be
 * reentrant (pure functions of their argument are).
 *
 * Versioning: the host refuses a plugin whose abi_major differs from its own. Within a major
 * version, fields are only appended to the table; `size` tells the host which ones exist.
 * 1.1 adds, in `describe`, a model's "serving" object (customizations, on-demand serving,
 * invoke API, distillation teachers, validation data) and the conversation schema's rules
 * (any schema version, reserved strings, media, reasoning content); a 1.0 plugin omits them
 * and the host assumes fine-tuning, provisioned throughput, InvokeModel and text only.
 * See plugins/README.md for the JSON documents each function takes and returns.
 */
#ifndef FINETUNED_ADAPTER_H
#define FINETUNED_ADAPTER_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FINETUNED_ADAPTER_ABI_MAJOR 1
#define FINETUNED_ADAPTER_ABI_MINOR 1
#define FINETUNED_ADAPTER_ENTRY_SYMBOL "finetuned_adapter_entry"

typedef struct finetuned_adapter_v1 {
    /* FINETUNED_ADAPTER_ABI_MAJOR and _MINOR as the plugin was compiled. */
    uint32_t abi_major;
    uint32_t abi_minor;
    /* sizeof(finetuned_adapter_v1) as the plugin was compiled. */
    uint32_t size;
    uint32_t reserved;

    /* The adapter's identity, model table, limits, schemas and prices (a JSON object). */
    char *(*describe)(void);

    /* {"model", "prompt", "parameters"} -> {"body": <InvokeModel request body>} or {"error"}. */
    char *(*build_invoke_request)(const char *request_json);

    /* {"model", "body": "<raw response body>"} -> {"text", "stop_reason", ...} or {"error"}. */
    char *(*parse_invoke_response)(const char *response_json);

    /* Optional (NULL when absent): {"model", "record"} -> {"problems": [...]}, for checks the
     * declared record schema cannot express. Called once per training record. */
    char *(*check_record)(const char *record_json);

    /* Frees a string returned by any function above. */
    void (*free_string)(char *string);
} finetuned_adapter_v1;

typedef const finetuned_adapter_v1 *(*finetuned_adapter_entry_fn)(void);

/* The one exported symbol. */
const finetuned_adapter_v1 *finetuned_adapter_entry(void);

#ifdef __cplusplus
}
#endif

#endif /* FINETUNED_ADAPTER_H */
