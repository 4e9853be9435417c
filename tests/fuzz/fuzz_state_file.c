/*  libFuzzer target: the fork choice state file as read back at start
    (state_file_read). Properties: a refused file leaves the fork choice
    zeroed; an accepted one has all three tags decided and is written back
    (state_file's own format) to text that reads the same. */
#include "fork_choice.h"
#include "fuzz_util.h"
#include "hex.h"
#include "state_file.h"

static void write_hash(FILE *f, const char *key, bool has, const uint8_t h[32])
{
    char hex[67];
    fprintf(f, "%s=%s\n", key, has ? hex_encode(h, 32, hex) : "none");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FILE *f = fmemopen((void *) data, size, "r");
    if (!f)
        return 0;
    fork_choice_t fc;
    int rc = state_file_read(f, &fc);
    fclose(f);
    if (rc != 0) {
        static const fork_choice_t zero;
        if (memcmp(&fc, &zero, sizeof fc) != 0)
            fuzz_die("fuzz_state_file", "a refused file left state", NULL);
        return 0;
    }
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    write_hash(out, "head", fc.has_head, fc.head);
    write_hash(out, "safe", fc.has_safe, fc.safe);
    write_hash(out, "finalized", fc.has_finalized, fc.finalized);
    fprintf(out, "finalized_number=%llu\n", (unsigned long long) fc.finalized_number);
    fclose(out);
    FILE *again = fmemopen(text, len, "r");
    fork_choice_t fc2;
    if (state_file_read(again, &fc2) != 0 || memcmp(&fc, &fc2, sizeof fc) != 0)
        fuzz_die("fuzz_state_file", "a written file does not read back the same", text);
    fclose(again);
    free(text);
    return 0;
}
