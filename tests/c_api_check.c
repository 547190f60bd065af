/* The C API from C (so include/hattn.h is checked as C): statuses and messages on bad input, every call on the
 * bundled models, shapes and values of the results. The numbers themselves are checked against the command line
 * by the Python package's tests. Usage: c_api_check SOURCE_DIR */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "hattn.h"

static int failures = 0;

#define EXPECT(cond, ...)                         \
  do {                                            \
    if (!(cond)) {                                \
      printf("FAIL line %d: ", __LINE__);         \
      printf(__VA_ARGS__);                        \
      printf(" (last error: %s)\n", hattn_last_error()); \
      ++failures;                                 \
    }                                             \
  } while (0)

static int finite_nonnegative(const hattn_array* a) {
  int64_t n = 1;
  for (int d = 0; d < a->ndim; ++d) n *= a->shape[d];
  for (int64_t i = 0; i < n; ++i)
    if (!isfinite(a->data[i]) || a->data[i] < 0) return 0;
  return 1;
}

static int stop_after_first(int64_t done, int64_t total, void* user) {
  (void)done, (void)total, (void)user;
  return 1;
}

int main(int argc, char** argv) {
  if (argc != 2) {
    printf("usage: c_api_check SOURCE_DIR\n");
    return 2;
  }
  char vim[4096], lm[4096], image[4096], version_file[4096], version[64] = {0};
  snprintf(vim, sizeof vim, "%s/models/weights/vim_cluttered.safetensors", argv[1]);
  snprintf(lm, sizeof lm, "%s/models/weights/recall_mamba1", argv[1]);
  snprintf(image, sizeof image, "%s/tests/data/images/src_wide.png", argv[1]);
  snprintf(version_file, sizeof version_file, "%s/VERSION", argv[1]);
  FILE* f = fopen(version_file, "r");
  EXPECT(f && fgets(version, sizeof version, f), "cannot read %s", version_file);
  if (f) fclose(f);
  version[strcspn(version, "\n")] = 0;
  EXPECT(strcmp(hattn_version(), version) == 0, "version %s, VERSION says %s", hattn_version(), version);
  EXPECT(hattn_api_version() == HATTN_API_VERSION, "API version %d", hattn_api_version());

  hattn_model* model = NULL;
  EXPECT(hattn_open("/nonexistent/model.pth", NULL, &model) == HATTN_INPUT_ERROR && model == NULL, "open a missing file");
  EXPECT(strstr(hattn_last_error(), "/nonexistent/model.pth") != NULL, "the message names the file");
  EXPECT(hattn_open(vim, "heads=3", &model) == HATTN_INPUT_ERROR, "a ViT option on a Vim");
  EXPECT(hattn_open(vim, "colour=red", &model) == HATTN_INPUT_ERROR, "an unknown option");
  EXPECT(hattn_open(vim, "device=cpu", &model) == HATTN_OK && model != NULL, "open the bundled Vim");
  hattn_model_info info;
  EXPECT(hattn_model_get_info(model, &info) == HATTN_OK && strcmp(info.family, "vim") == 0 && !info.is_text,
         "the Vim's info");

  hattn_image img = {image, NULL, 0, 0};
  hattn_array* out = NULL;
  EXPECT(hattn_classify(model, &img, NULL, &out) == HATTN_OK && out->ndim == 1 && out->shape[0] == info.num_classes,
         "classify");
  hattn_array_free(out);
  EXPECT(hattn_explain(model, &img, "method=attr;variant=exact;start_layer=2", &out) == HATTN_OK && out->ndim == 2 &&
             out->shape[0] == 14 && out->shape[1] == 14 && finite_nonnegative(out),
         "explain");
  hattn_array_free(out);
  out = NULL;
  EXPECT(hattn_explain(model, &img, "method=gae", &out) == HATTN_INPUT_ERROR && out == NULL, "gae on a Vim");
  EXPECT(strstr(hattn_last_error(), "gae") != NULL, "the message names the method");
  EXPECT(hattn_explain(model, &img, "method=attr;start_layer=99", &out) == HATTN_INPUT_ERROR, "start layer 99");
  EXPECT(hattn_explain(model, &img, "method", &out) == HATTN_INPUT_ERROR, "an option without a value");
  EXPECT(hattn_attention(model, &img, 1, "direction=fwd;channels=0:4", &out) == HATTN_OK && out->ndim == 3 &&
             out->shape[0] == 4 && out->shape[1] == info.tokens && out->shape[2] == info.tokens,
         "attention");
  hattn_array_free(out);
  EXPECT(hattn_attention(model, &img, 99, NULL, &out) == HATTN_INPUT_ERROR, "layer 99");
  hattn_image both = {image, (const uint8_t*)image, 2, 2};
  EXPECT(hattn_explain(model, &both, NULL, &out) == HATTN_INPUT_ERROR, "a path and pixels");
  char* results = NULL;
  EXPECT(hattn_evaluate(model, "accuracy", "limit=4;batch=2", NULL, NULL, &results) == HATTN_OK && results &&
             strstr(results, "\"accuracy\": {\"accuracy\": ") != NULL,
         "evaluate accuracy");
  hattn_string_free(results);
  results = NULL;
  EXPECT(hattn_evaluate(model, "accuracy", "limit=4", stop_after_first, NULL, &results) == HATTN_CANCELLED &&
             results == NULL && strstr(hattn_last_error(), "1 of 4") != NULL,
         "a progress callback cancels");
  EXPECT(hattn_evaluate(model, "speed", NULL, NULL, NULL, &results) == HATTN_INPUT_ERROR, "an unknown protocol");
  const int64_t ids[3] = {1, 2, 3};
  EXPECT(hattn_lm_logits(model, ids, 3, &out) == HATTN_INPUT_ERROR, "token ids into an image model");
  hattn_close(model);

  EXPECT(hattn_open(lm, NULL, &model) == HATTN_OK, "open the recall language model");
  EXPECT(hattn_model_get_info(model, &info) == HATTN_OK && info.is_text, "the language model's info");
  int64_t* tokens = NULL;
  int64_t n = 0;
  EXPECT(hattn_tokenize(model, "a3k7q1m9z2b5|m", NULL, &tokens, &n) == HATTN_OK && n == 14, "tokenize");
  EXPECT(hattn_lm_explain(model, tokens, n, "method=rollout;query=9", &out) == HATTN_OK && out->ndim == 1 &&
             out->shape[0] == n && finite_nonnegative(out) && out->data[10] == 0.0f,
         "lm explain (nothing after the query)");
  hattn_array_free(out);
  EXPECT(hattn_lm_logits(model, tokens, n, &out) == HATTN_OK && out->ndim == 2 && out->shape[0] == n &&
             out->shape[1] == info.vocab,
         "lm logits");
  hattn_array_free(out);
  EXPECT(hattn_explain(model, &img, NULL, &out) == HATTN_INPUT_ERROR, "an image into a language model");
  hattn_ids_free(tokens);
  hattn_close(model);
  hattn_close(NULL);
  hattn_array_free(NULL);
  printf("c_api_check: %d failure(s)\n", failures);
  return failures ? 1 : 0;
}
