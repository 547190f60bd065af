/* Opens a model and explains an image through the installed library: hattn_consumer MODEL IMAGE */
#include <hattn.h>
#include <stdio.h>

int main(int argc, char** argv) {
  hattn_model* model = NULL;
  hattn_image image = {argc > 2 ? argv[2] : NULL, NULL, 0, 0};
  hattn_array* map = NULL;
  if (argc != 3 || hattn_open(argv[1], NULL, &model) != HATTN_OK ||
      hattn_explain(model, &image, "method=rollout", &map) != HATTN_OK) {
    printf("consumer: %s\n", hattn_last_error());
    return 1;
  }
  printf("consumer: hattn %s, a %lld x %lld map\n", hattn_version(), (long long)map->shape[0], (long long)map->shape[1]);
  hattn_array_free(map);
  hattn_close(model);
  return 0;
}
