/* HiddenAttn's C API: open a model of any family (Vision Mamba, ViT/DeiT, the Mamba language models), classify,
 * explain, read its attention, and the language models' logits and explanations, from C or any language with a
 * C foreign-function interface (the Python package in python/ is one).
 *
 * Conventions
 *   - Every function returns a status; on failure the calling thread's hattn_last_error() holds the library's
 *     one-line message (naming the file and the problem). Nothing here exits or aborts.
 *   - Results are float32 arrays the library allocates (hattn_array); free each with hattn_array_free.
 *   - Options are "key=value" pairs separated by ';' (e.g. "method=attr;variant=exact;start_layer=2"), the names of
 *     the command line's options with '_' for '-'. A string, rather than a struct, because which options apply
 *     depends on the family and on the call, and a new option must not change the ABI. An unknown key, or one the
 *     model's family does not take, is an input error.
 *   - Threads: a model may be used from several threads; calls on one model run one at a time (each already uses
 *     every core), calls on different models run concurrently. Models are loaded with their parameters frozen
 *     (explanations take gradients with respect to inputs only), so no call writes shared state. hattn_close must
 *     not overlap another call on the same model; a progress callback may not call its own model (an input
 *     error says so).
 *   - Numbers are those of the hattn command line with the same options, bit for bit.
 */
#ifndef HATTN_H
#define HATTN_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define HATTN_API_VERSION 1 /* raised when a declaration here changes incompatibly */

#if defined(__GNUC__)
#define HATTN_EXPORT __attribute__((visibility("default")))
#else
#define HATTN_EXPORT
#endif

typedef enum hattn_status {
  HATTN_OK = 0,
  HATTN_ERROR = 1,       /* the library failed (a broken invariant, out of memory, a device error) */
  HATTN_INPUT_ERROR = 2, /* bad input: a missing or damaged file, an unknown option, an out-of-range value */
  HATTN_CANCELLED = 3,   /* a progress callback asked to stop */
} hattn_status;

/* Called after each batch of long work with the images done and the total; return nonzero to stop it. */
typedef int (*hattn_progress)(int64_t done, int64_t total, void* user_data);

typedef struct hattn_model hattn_model;

typedef struct hattn_array {
  float* data;       /* row-major */
  int64_t shape[4];
  int32_t ndim;
} hattn_array;

/* An image: a file path (decoded as the command line does), or 8-bit RGB pixels (height × width × 3, row-major).
 * Exactly one of path and rgb is set. The image is preprocessed to the model's input size (option
 * preprocess=crop|vim-eval|squash, crop by default). */
typedef struct hattn_image {
  const char* path;
  const uint8_t* rgb;
  int64_t height, width;
} hattn_image;

typedef struct hattn_model_info {
  const char* family;   /* "vim", "vit", "mamba_lm" */
  const char* name;     /* "Vision Mamba", ... */
  const char* describe; /* the configuration in one line */
  int32_t is_text;      /* 1: a language model (token ids in), 0: an image model */
  int64_t layers, tokens, img_size, num_classes, vocab;
  const char* methods;  /* what "all" means, comma-separated, variants as method:variant */
} hattn_model_info;     /* strings live as long as the model */

HATTN_EXPORT const char* hattn_version(void); /* "0.5.0", as `hattn --version` prints it */
HATTN_EXPORT int hattn_api_version(void);     /* HATTN_API_VERSION of the library */
HATTN_EXPORT const char* hattn_last_error(void); /* this thread's last failure; "" when none */

/* options: device=cpu|cuda|cuda:N, and the family's load options (stride, img_size, heads, normalize). */
HATTN_EXPORT hattn_status hattn_open(const char* path, const char* options, hattn_model** model);
HATTN_EXPORT void hattn_close(hattn_model* model);
HATTN_EXPORT hattn_status hattn_model_get_info(const hattn_model* model, hattn_model_info* info);

HATTN_EXPORT void hattn_array_free(hattn_array* array);

/* Image models. classify: logits [classes]. explain: the map [G, G] (options: method, variant, start_layer,
 * class, query, seed, preprocess, and the ablations aggregate, discard, clamp). attention: one layer's mixer matrices, Vim [E, L, L] (option direction=
 * fwd|bwd|sum, sum by default; channels=A:B), ViT [H, T, T]. */
HATTN_EXPORT hattn_status hattn_classify(hattn_model* model, const hattn_image* image, const char* options, hattn_array** logits);
HATTN_EXPORT hattn_status hattn_explain(hattn_model* model, const hattn_image* image, const char* options, hattn_array** map);
HATTN_EXPORT hattn_status hattn_attention(hattn_model* model, const hattn_image* image, int64_t layer,
                                          const char* options, hattn_array** matrices);

/* The evaluation protocols on an image model (as `hattn eval`): protocol perturbation | segmentation | accuracy;
 * options: data (the Fashion-MNIST folder of the default cluttered set), images, labels, synsets, mat,
 * preprocess (squash by default), methods (all, or a comma list of method[:variant]), limit (default: 1000 of the
 * cluttered set, else every image), batch, shard=i/n, aggregate, discard, clamp, perturb (black|blur|mean). *results_json receives results.json's text (free it with
 * hattn_string_free). progress may be NULL. */
HATTN_EXPORT hattn_status hattn_evaluate(hattn_model* model, const char* protocol, const char* options,
                                         hattn_progress progress, void* user_data, char** results_json);
HATTN_EXPORT void hattn_string_free(char* text);

/* Language models. ids: n token ids. logits [T, V]; explain: [T] (options: method, query, target, start_layer,
 * seed, aggregate, discard, clamp); tokenize: with tokenizer.json beside the model (or option tokenizer=PATH), the ids as float32 [n]
 * would lose precision, so they come back as int64 through *ids / *n, freed with hattn_ids_free. */
HATTN_EXPORT hattn_status hattn_lm_logits(hattn_model* model, const int64_t* ids, int64_t n, hattn_array** logits);
HATTN_EXPORT hattn_status hattn_lm_explain(hattn_model* model, const int64_t* ids, int64_t n, const char* options,
                                           hattn_array** relevance);
HATTN_EXPORT hattn_status hattn_tokenize(hattn_model* model, const char* text, const char* options, int64_t** ids, int64_t* n);
HATTN_EXPORT void hattn_ids_free(int64_t* ids);

#ifdef __cplusplus
}
#endif

#endif /* HATTN_H */
