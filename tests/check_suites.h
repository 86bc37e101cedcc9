/*
 * check_suites.h - the Check suites of the unit tests; the shared runner
 * (check_main.c) adds each of them to its SRunner.
 */
#ifndef SHARDGREP_CHECK_SUITES_H
#define SHARDGREP_CHECK_SUITES_H

#include <check.h>

Suite *suite_glob(void);
Suite *suite_ignore(void);
Suite *suite_utf8(void);
Suite *suite_msg(void);
Suite *suite_matcher(void);
Suite *suite_corpus(void);
Suite *suite_shard(void);
Suite *suite_query(void);
Suite *suite_options(void);
Suite *suite_search(void);
Suite *suite_render(void);
Suite *suite_walk(void);
Suite *suite_qplan(void);
Suite *suite_tindex(void);
Suite *suite_strsearch(void);
Suite *suite_fsopen(void);
Suite *suite_registry(void);
Suite *suite_worker(void);
Suite *suite_store(void);
Suite *suite_listener(void);
Suite *suite_reaper(void);
Suite *suite_pattern(void);
Suite *suite_snapshot(void);
Suite *suite_lang(void);
Suite *suite_facets(void);
Suite *suite_metrics(void);
Suite *suite_links(void);
Suite *suite_bytes(void);
Suite *suite_api(void);

#endif
