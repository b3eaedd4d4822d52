/* test_config.c - config.json parsing: fixtures, HF defaults, refusals. */
#include <math.h>
#include <string.h>

#include "check.h"
#include "core/error.h"
#include "nn/config.h"

static int parse(const char *json, sv_bert_config *cfg) {
    return sv_config_parse(json, strlen(json), "test-config.json", cfg);
}

static int error_has(const char *needle) { return strstr(scivec_last_error(), needle) != NULL; }

int main(void) {
    sv_bert_config cfg;

    /* The tiny SciBERT fixture, as written by transformers 4.44.2. */
    int rc = sv_config_load(SV_FIXTURES "/models/tiny-scibert/config.json", &cfg);
    CHECK(rc == SCIVEC_OK, "tiny-scibert: %s", scivec_last_error());
    CHECK(cfg.hidden == 64 && cfg.n_layers == 2 && cfg.n_heads == 4 && cfg.intermediate == 128,
          "tiny-scibert sizes %d %d %d %d", cfg.hidden, cfg.n_layers, cfg.n_heads,
          cfg.intermediate);
    CHECK(cfg.vocab_size == 31090 && cfg.max_position == 512 && cfg.type_vocab_size == 2,
          "tiny-scibert vocab %d pos %d types %d", cfg.vocab_size, cfg.max_position,
          cfg.type_vocab_size);
    CHECK(cfg.act == SV_ACT_GELU && cfg.layer_norm_eps == 1e-12f, "tiny-scibert act/eps");

    /* Old-style config without model_type (transformers 2.x). */
    rc = sv_config_load(SV_FIXTURES "/hf-produced/camphr-bert-ja-legacy-torch/config.json", &cfg);
    CHECK(rc == SCIVEC_OK, "camphr legacy: %s", scivec_last_error());
    CHECK(cfg.hidden == 16 && cfg.n_layers == 3 && cfg.n_heads == 2 && cfg.vocab_size == 32006,
          "camphr legacy sizes");

    rc = sv_config_load(SV_FIXTURES "/hf-produced/camphr-ner-bert-tf4.8.2/config.json", &cfg);
    CHECK(rc == SCIVEC_OK && cfg.max_position == 16 && cfg.vocab_size == 402 && cfg.n_heads == 1,
          "camphr ner: %s", scivec_last_error());
    rc = sv_config_load(SV_FIXTURES "/hf-produced/coldfire-tiny-bert-st/config.json", &cfg);
    CHECK(rc == SCIVEC_OK && cfg.hidden == 32 && cfg.max_position == 128, "coldfire: %s",
          scivec_last_error());
    rc = sv_config_load(SV_FIXTURES "/hf-produced/jammi-tiny-bert/config.json", &cfg);
    CHECK(rc == SCIVEC_OK && cfg.n_layers == 1 && cfg.intermediate == 128, "jammi: %s",
          scivec_last_error());

    /* NomicBERT is a different architecture: refused, saying why. */
    rc = sv_config_load(SV_FIXTURES "/hf-produced/coldfire-tiny-nomic-bert/config.json", &cfg);
    CHECK(rc == SCIVEC_EUNSUPPORTED, "nomic rc %d", rc);
    CHECK(error_has("nomic_bert") && error_has("not supported") && error_has("config.json"),
          "nomic message: %s", scivec_last_error());

    /* Empty object: every BertConfig default. */
    rc = parse("{}", &cfg);
    CHECK(rc == SCIVEC_OK, "defaults: %s", scivec_last_error());
    CHECK(cfg.vocab_size == 30522 && cfg.hidden == 768 && cfg.n_layers == 12 && cfg.n_heads == 12 &&
              cfg.intermediate == 3072 && cfg.max_position == 512 && cfg.type_vocab_size == 2 &&
              cfg.layer_norm_eps == 1e-12f && cfg.act == SV_ACT_GELU,
          "defaults wrong");

    /* Activations. */
    CHECK(parse("{\"hidden_act\": \"gelu_new\"}", &cfg) == 0 && cfg.act == SV_ACT_GELU_TANH,
          "gelu_new");
    CHECK(parse("{\"hidden_act\": \"gelu_pytorch_tanh\"}", &cfg) == 0 &&
              cfg.act == SV_ACT_GELU_TANH,
          "gelu_pytorch_tanh");
    CHECK(parse("{\"hidden_act\": \"relu\"}", &cfg) == 0 && cfg.act == SV_ACT_RELU, "relu");
    CHECK(parse("{\"hidden_act\": \"swiglu\"}", &cfg) == SCIVEC_EUNSUPPORTED && error_has("swiglu"),
          "swiglu: %s", scivec_last_error());
    CHECK(parse("{\"layer_norm_eps\": 1e-5, \"model_type\": \"bert\"}", &cfg) == 0 &&
              fabsf(cfg.layer_norm_eps - 1e-5f) < 1e-12f,
          "eps");

    /* Refusals, each naming the problem. */
    CHECK(parse("{\"model_type\": \"roberta\"}", &cfg) == SCIVEC_EUNSUPPORTED &&
              error_has("roberta"),
          "roberta: %s", scivec_last_error());
    CHECK(parse("{\"architectures\": [\"DistilBertModel\"]}", &cfg) == SCIVEC_EUNSUPPORTED &&
              error_has("DistilBertModel"),
          "distilbert: %s", scivec_last_error());
    CHECK(parse("{\"position_embedding_type\": \"relative_key\"}", &cfg) == SCIVEC_EUNSUPPORTED &&
              error_has("relative_key"),
          "relative: %s", scivec_last_error());
    CHECK(parse("{\"is_decoder\": true}", &cfg) == SCIVEC_EUNSUPPORTED, "decoder");
    CHECK(parse("{\"hidden_size\": 100, \"num_attention_heads\": 12}", &cfg) == SCIVEC_EFORMAT &&
              error_has("multiple"),
          "divisible: %s", scivec_last_error());
    CHECK(parse("{\"hidden_size\": 0}", &cfg) == SCIVEC_EFORMAT && error_has("hidden_size"),
          "zero hidden: %s", scivec_last_error());
    CHECK(parse("{\"num_hidden_layers\": -3}", &cfg) == SCIVEC_EFORMAT, "negative layers");
    CHECK(parse("{\"vocab_size\": 1e30}", &cfg) == SCIVEC_EFORMAT && error_has("vocab_size"),
          "huge vocab: %s", scivec_last_error());
    CHECK(parse("{\"hidden_size\": 64.5}", &cfg) == SCIVEC_EFORMAT && error_has("integer"),
          "fractional: %s", scivec_last_error());
    CHECK(parse("{\"hidden_size\": \"768\"}", &cfg) == SCIVEC_EFORMAT, "string size");
    CHECK(parse("{\"layer_norm_eps\": -1}", &cfg) == SCIVEC_EFORMAT && error_has("layer_norm_eps"),
          "eps negative");
    /* Found by fuzz_config: positive as a double, 0 as a float. */
    CHECK(parse("{\"layer_norm_eps\": 1e-51}", &cfg) == SCIVEC_EFORMAT &&
              error_has("layer_norm_eps"),
          "eps underflow: %s", scivec_last_error());
    CHECK(parse("[1, 2]", &cfg) == SCIVEC_EFORMAT && error_has("not a JSON object"), "array");
    CHECK(parse("{\"hidden_size\": ", &cfg) == SCIVEC_EFORMAT && error_has("not valid JSON"),
          "truncated");
    CHECK(sv_config_load("/nonexistent/config.json", &cfg) == SCIVEC_ENOTFOUND &&
              error_has("/nonexistent/config.json"),
          "missing file: %s", scivec_last_error());
    return check_report();
}
