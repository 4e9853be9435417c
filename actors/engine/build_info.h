/*  build_info: what this build of the actor says about itself to the
    execution client (engine_getClientVersionV1's ClientVersionV1). */
#ifndef ALYS_BUILD_INFO_H
#define ALYS_BUILD_INFO_H

/*  Formats the `commit` of ClientVersionV1, DATA of 4 bytes: "0x" and the
    first 8 hex digits of git_commit (a full or abbreviated hash, any case),
    lower-cased; "0x00000000" when git_commit is NULL or does not start
    with 8 hex digits (a build outside a git checkout). out must hold 11
    bytes. Returns out. */
char *build_info_commit_data(const char *git_commit, char out[11]);

/*  The commit of this build as build_info_commit_data formats it: the git
    HEAD of the source tree when the actor was compiled. */
const char *build_info_commit(void);

#endif
