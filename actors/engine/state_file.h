/*  state_file: the fork choice survives a restart of the actor.
    A small text file under --state-dir, replaced atomically (write to a
    temporary file, fsync, rename, fsync the directory) on every change. */
#ifndef ALYS_STATE_FILE_H
#define ALYS_STATE_FILE_H

#include <stddef.h>
#include <stdio.h>

#include "fork_choice.h"

/*  Writes fc to DIR/forkchoice. Returns 0, or -1 with errno set. */
int state_file_save(const char *dir, const fork_choice_t *fc);
/*  Reads DIR/forkchoice into fc (known stays false: the caller checks the
    hashes against the execution client first). Returns 1 when read, 0 when
    there is no file, -1 when it is malformed (reason in err). */
int state_file_load(const char *dir, fork_choice_t *fc, char *err, size_t err_len);
/*  Reads the file's text from f into fc (zeroed first). Returns 0, or -1
    when it is malformed (fc is then zeroed). */
int state_file_read(FILE *f, fork_choice_t *fc);

#endif
