#include "build_info.h"

#include <ctype.h>
#include <string.h>

#include "alys_commit.h"

char *build_info_commit_data(const char *git_commit, char out[11])
{
    memcpy(out, "0x00000000", 11);
    if (!git_commit)
        return out;
    for (int i = 0; i < 8; i++)
        if (!isxdigit((unsigned char) git_commit[i]))
            return out; /* also stops at the terminating NUL */
    for (int i = 0; i < 8; i++)
        out[2 + i] = (char) tolower((unsigned char) git_commit[i]);
    return out;
}

const char *build_info_commit(void)
{
    static char commit[11];
    if (!commit[0])
        build_info_commit_data(ALYS_GIT_COMMIT, commit);
    return commit;
}
