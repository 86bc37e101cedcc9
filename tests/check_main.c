/*
 * check_main.c - runs every unit-test suite (one per module, libsigrok
 * style: tests/check_<module>.c exports suite_<module>()).
 */
#include <check.h>
#include <stdlib.h>

#include "check_suites.h"

int main(void)
{
    Suite *(*const suites[])(void) = {
        suite_glob,   suite_ignore,   suite_utf8,      suite_msg,     suite_matcher,  suite_corpus,
        suite_shard,  suite_query,    suite_options,   suite_search,  suite_render,   suite_walk,
        suite_qplan,  suite_tindex,   suite_strsearch, suite_fsopen,  suite_registry, suite_worker,
        suite_store,  suite_listener, suite_reaper,    suite_pattern, suite_snapshot, suite_lang,
        suite_facets, suite_metrics,  suite_links,     suite_bytes,   suite_api,
    };
    SRunner *sr = srunner_create(NULL);
    for (size_t i = 0; i < sizeof suites / sizeof suites[0]; i++)
        srunner_add_suite(sr, suites[i]());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
