/* A complete small program against the installed library: load a model, plan it for its input size
 * on the best device, run one image, print the foreground fraction. Build: cc segment.c
 * $(pkg-config --cflags --libs clseg) */
#include <clseg.h>
#include <clseg_io.h>
#include <clseg_models.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s MODEL IMAGE\n", argv[0]);
    return 2;
  }
  clseg_context *ctx = NULL;
  clseg_model *model = NULL;
  clseg_plan *plan = NULL;
  clseg_image img = {0}, rgb = {0};
  float *in = NULL, *out = NULL;
  int64_t h = 256, w = 256, os[4];
  int rc = 1;
  if (clseg_context_create(NULL, &ctx) != CLSEG_OK ||
      clseg_model_load(argv[1], &model) != CLSEG_OK ||
      clseg_image_read(argv[2], &img) != CLSEG_OK || clseg_image_to_rgb(&img, &rgb) != CLSEG_OK) {
    fprintf(stderr, "%s\n", clseg_last_error(NULL));
    goto done;
  }
  clseg_model_input_size(model, &h, &w); /* keeps 256x256 for a free-size model */
  if (clseg_plan_create(ctx, clseg_model_graph(model), 1, h, w, NULL, &plan) != CLSEG_OK) {
    fprintf(stderr, "%s\n", clseg_last_error(ctx));
    goto done;
  }
  clseg_plan_output_shape(plan, os);
  size_t nin = (size_t)(3 * h * w), nout = (size_t)(os[0] * os[1] * os[2] * os[3]);
  in = malloc(nin * sizeof *in);
  out = malloc(nout * sizeof *out);
  const float *mean = clseg_model_mean(model), *std = clseg_model_std(model);
  clseg_tensor_params tp = {(int)w, (int)h, {mean[0], mean[1], mean[2]}, {std[0], std[1], std[2]}};
  if (!in || !out || clseg_image_to_tensor_data(&rgb, &tp, in) != CLSEG_OK ||
      clseg_plan_run(plan, in, nin, out, nout) != CLSEG_OK) {
    fprintf(stderr, "%s\n", clseg_last_error(ctx));
    goto done;
  }
  size_t fg = 0;
  for (size_t i = 0; i < (size_t)(os[2] * os[3]); i++)
    fg += out[i] >= (clseg_model_output_is_probability(model) ? 0.5f : 0.0f);
  printf("%s on %s: %.1f%% foreground\n", argv[2], clseg_context_device(ctx)->name,
         100.0 * (double)fg / (double)(os[2] * os[3]));
  rc = 0;
done:
  free(in);
  free(out);
  clseg_image_free(&img);
  clseg_image_free(&rgb);
  clseg_plan_free(plan);
  clseg_model_free(model);
  clseg_context_free(ctx);
  return rc;
}
