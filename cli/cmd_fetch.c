/*
 * cmd_fetch.c - `scivec fetch ORG/NAME[@REV]`: downloads what scivec needs of
 * a model (or adapter) repo from the HuggingFace hub into the HF cache and
 * prints the snapshot folder; nothing is run.
 */
#include <stdio.h>
#include <stdlib.h>

#include "commands.h"
#include "options.h"
#include "scivec.h"

static const char usage[] =
    "usage: scivec fetch ORG/NAME[@REVISION] [--offline] [--quiet]\n"
    "  downloads config, tokenizer, weights (model.safetensors preferred, else sharded\n"
    "  safetensors, else pytorch_model.bin) and adapter files of a hub repo into the\n"
    "  HuggingFace cache (the one Python uses) and prints the snapshot folder.\n"
    "  Always asks the hub for the revision's current commit; --offline (or\n"
    "  HF_HUB_OFFLINE=1) only looks in the cache.\n"
    "  env: HF_HUB_CACHE, HF_HOME, HF_ENDPOINT, HF_TOKEN, HF_HUB_OFFLINE, https_proxy\n"
    "  --quiet  no progress bar (it is drawn only when stderr is a terminal)\n";

int cmd_fetch(int argc, char **argv) {
    const char *model = NULL;
    int offline = 0, quiet = 0;
    static const struct option options[] = {
        {"help", no_argument, NULL, 'h'},
        {"offline", no_argument, NULL, 'o'},
        {"quiet", no_argument, NULL, 'q'},
        {NULL, 0, NULL, 0},
    };
    int c;
    cli_getopt_begin();
    while ((c = getopt_long(argc, argv, ":hq", options, NULL)) != -1) {
        switch (c) {
            case 'h': fputs(usage, stdout); return 0;
            case 'o': offline = 1; break;
            case 'q': quiet = 1; break;
            default:
                fprintf(stderr, "scivec fetch: unexpected argument '%s'\n%s", cli_bad_option(argv),
                        usage);
                return 2;
        }
    }
    for (int i = optind; i < argc; i++) {
        if (model) {
            fprintf(stderr, "scivec fetch: unexpected argument '%s'\n%s", argv[i], usage);
            return 2;
        }
        model = argv[i];
    }
    if (!model) {
        fprintf(stderr, "scivec fetch: expected ORG/NAME[@REVISION]\n%s", usage);
        return 2;
    }
    if (offline) setenv("HF_HUB_OFFLINE", "1", 1);
    if (quiet) scivec_hub_set_progress(NULL, NULL); /* (main.c installed the bar) */

    char *dir = NULL;
    if (scivec_model_resolve(model, 1, &dir) != SCIVEC_OK) return cli_fail("fetch");
    printf("%s\n", dir);
    scivec_free(dir);
    return 0;
}
