/*
 * main.c - the scivec command line: picks the subcommand and hands over.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "scivec.h"

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} commands[] = {
    {"tokenize", cmd_tokenize, "JSON Lines texts on stdin -> token ids (HF BertTokenizer)"},
    {"encode", cmd_encode, "JSON Lines texts on stdin -> embeddings .npy"},
    {"embed", cmd_embed,
     "papers CSV/JSONL -> embeddings.npy, papers.index, papers.db, metadata.json"},
    {"similar", cmd_similar, "the papers most similar to one paper of an embed output"},
    {"search", cmd_search, "free-text search over an embed output"},
    {"info", cmd_info, "describe and check an embed output"},
    {"reindex", cmd_reindex, "a new FAISS index for an embed output from its embeddings.npy"},
    {"fetch", cmd_fetch, "download a model from the HuggingFace hub into its cache"},
    {"serve", cmd_serve,
     "HTTP API + web page over an embed output (search, similar, recommend, embeddings)"},
    {"map", cmd_map, "2-D map (UMAP) of an embed output -> map.npy"},
    {"add", cmd_add, "append the new papers of an input to an embed output"},
    {"remove", cmd_remove, "delete papers from an embed output"},
    {"merge", cmd_merge, "join the shard folders of `embed --shard K/N` into one output"},
};

static void usage(FILE *out) {
    fprintf(out, "usage: scivec <command> [options]   (scivec <command> --help)\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-9s %s\n", commands[i].name, commands[i].summary);
}

/* --offline is accepted by every command, anywhere on the line: it is the
 * command-line spelling of HF_HUB_OFFLINE=1, which the model resolver reads. */
static int take_offline_flag(int argc, char **argv) {
    int kept = 0;
    for (int i = 0; i < argc; i++) {
        if (i > 0 && !strcmp(argv[i], "--offline")) {
            setenv("HF_HUB_OFFLINE", "1", 1);
            continue;
        }
        argv[kept++] = argv[i];
    }
    argv[kept] = NULL;
    return kept;
}

int main(int argc, char **argv) {
    argc = take_offline_flag(argc, argv);
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("scivec %s\n", scivec_version());
        return 0;
    }
    if (scivec_cpu_check() != SCIVEC_OK) { /* before any kernel could run */
        fprintf(stderr, "scivec: %s\n", scivec_last_error());
        return 1;
    }
    cli_hub_progress_install(); /* a model named ORG/NAME may be downloaded */
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "scivec: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
