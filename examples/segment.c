/* A complete small program against the installed library: load a model, segment one image on the
 * best device with the model's own pre- and post-processing (what `clseg run` does), print the
 * foreground share (binary models) or each class's, and write the mask when a path is given.
 * Build: cc segment.c $(pkg-config --cflags --libs clseg) */
#include <clseg.h>
#include <clseg_io.h>
#include <clseg_models.h>
#include <clseg_segment.h>
#include <stdio.h>

int main(int argc, char **argv) {
  if (argc != 3 && argc != 4) {
    fprintf(stderr, "usage: %s MODEL IMAGE [MASK.png]\n", argv[0]);
    return 2;
  }
  clseg_context *ctx = NULL;
  clseg_model *model = NULL;
  clseg_segmenter *seg = NULL;
  clseg_image img = {0}, rgb = {0};
  clseg_segmentation r = {0};
  uint8_t palette[256 * 3];
  int rc = 1;
  if (clseg_context_create(NULL, &ctx) != CLSEG_OK ||
      clseg_model_load(argv[1], &model) != CLSEG_OK ||
      clseg_image_read(argv[2], &img) != CLSEG_OK || clseg_image_to_rgb(&img, &rgb) != CLSEG_OK) {
    fprintf(stderr, "%s\n", clseg_last_error(NULL));
    goto done;
  }
  if (clseg_segmenter_create(ctx, model, NULL, &seg) != CLSEG_OK ||
      clseg_segment_image(seg, &rgb, 0, &r) != CLSEG_OK) {
    fprintf(stderr, "%s\n", clseg_last_error(ctx));
    goto done;
  }
  size_t count[256] = {0}, px = (size_t)r.width * (size_t)r.height;
  for (size_t i = 0; i < px; i++)
    count[r.mask[i]]++;
  printf("%s on %s (network %.1f ms):", argv[2], clseg_context_device(ctx)->name, r.network_ms);
  if (r.classes == 1)
    printf(" %.1f%% foreground", 100.0 * (double)count[1] / (double)px);
  for (int c = 0; r.classes > 1 && c < r.classes && c < 256; c++) {
    const char *name = clseg_model_class_name(model, c);
    printf(" %s%s%d %.1f%%", name ? name : "class", name ? "=" : " ", c,
           100.0 * (double)count[c] / (double)px);
  }
  printf("\n");
  clseg_palette_default(palette);
  if (argc == 4 && clseg_png_write_mask(argv[3], r.mask, r.width, r.height, palette) != CLSEG_OK) {
    fprintf(stderr, "%s\n", clseg_last_error(NULL));
    goto done;
  }
  rc = 0;
done:
  clseg_segmentation_free(&r);
  clseg_segmenter_free(seg);
  clseg_image_free(&img);
  clseg_image_free(&rgb);
  clseg_model_free(model);
  clseg_context_free(ctx);
  return rc;
}
