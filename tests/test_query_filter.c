/* test_query_filter.c - the --year / --category filters of similar and search. */
#include <string.h>

#include "check.h"
#include "outputs/query.h"

int main(void) {
    sv_filter f;

    memset(&f, 0, sizeof f);
    CHECK(sv_filter_parse_year("2024", &f) == SCIVEC_OK && f.has_year && f.year_min == 2024 &&
              f.year_max == 2024,
          "single year");
    memset(&f, 0, sizeof f);
    CHECK(sv_filter_parse_year("2020-2024", &f) == SCIVEC_OK && f.year_min == 2020 &&
              f.year_max == 2024,
          "range");
    const char *bad[] = {
        "",      "x",     "2024-", "-2024", "2024-2020",   "2020-2024-2025",   "2024 ",
        "20 24", "2024x", " 2024", "+2024", "99999999999", "2020-99999999999", "2020--2024"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sv_filter g = {0};
        CHECK(sv_filter_parse_year(bad[i], &g) == SCIVEC_EINVAL, "'%s' refused", bad[i]);
        CHECK(strstr(scivec_last_error(), "--year") != NULL, "message names --year: %s",
              scivec_last_error());
    }

    /* No filter: everything passes, NULL categories and unknown years too. */
    memset(&f, 0, sizeof f);
    CHECK(sv_filter_match(&f, NULL, 0, 0), "empty filter");
    CHECK(sv_filter_match(NULL, "cs.CL", 1, 2020), "NULL filter");

    /* Years: inclusive, unknown years never match. */
    sv_filter_parse_year("2020-2022", &f);
    CHECK(sv_filter_match(&f, "cs.CL", 1, 2020) && sv_filter_match(&f, "cs.CL", 1, 2022),
          "inclusive");
    CHECK(!sv_filter_match(&f, "cs.CL", 1, 2019) && !sv_filter_match(&f, "cs.CL", 1, 2023),
          "outside");
    CHECK(!sv_filter_match(&f, "cs.CL", 0, 0), "unknown year excluded");

    /* Categories: any listed one, exact, or the archive of a dotless filter. */
    const char *cats[] = {"cs.CV", "hep-ph"};
    memset(&f, 0, sizeof f);
    f.categories = cats;
    f.n_categories = 1;
    CHECK(sv_filter_match(&f, "cs.CV", 0, 0), "exact");
    CHECK(sv_filter_match(&f, "cs.AI  cs.CV", 0, 0), "second listed, double space");
    CHECK(sv_filter_match(&f, " cs.LG cs.CV ", 0, 0), "padded");
    CHECK(!sv_filter_match(&f, "cs.CVX cs.AI", 0, 0), "no prefix match of a dotted filter");
    CHECK(!sv_filter_match(&f, "cs.C", 0, 0), "no partial match");
    CHECK(!sv_filter_match(&f, "", 0, 0) && !sv_filter_match(&f, NULL, 0, 0), "no categories");
    f.n_categories = 2;
    CHECK(sv_filter_match(&f, "hep-ph", 0, 0), "either of two");
    CHECK(!sv_filter_match(&f, "hep-th astro-ph.GA", 0, 0), "neither of two");
    const char *archive[] = {"astro-ph"};
    f.categories = archive;
    f.n_categories = 1;
    CHECK(sv_filter_match(&f, "astro-ph.GA", 0, 0), "archive matches its categories");
    CHECK(sv_filter_match(&f, "astro-ph", 0, 0), "old-style category itself");
    CHECK(!sv_filter_match(&f, "astro-phys", 0, 0), "archive needs the dot");
    /* Both filters at once. */
    f.has_year = 1;
    f.year_min = f.year_max = 2007;
    CHECK(sv_filter_match(&f, "astro-ph.CO", 1, 2007), "both pass");
    CHECK(!sv_filter_match(&f, "astro-ph.CO", 1, 2008), "year fails");
    CHECK(!sv_filter_match(&f, "hep-ph", 1, 2007), "category fails");
    return check_report();
}
