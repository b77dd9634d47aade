/* INCRBYFLOAT arithmetic in x87 long double, as Redis 7.0 does it (util.c string2ld / ld2string HUMAN).
 * Rust has no long double type, so this small function is compiled by build.rs.
 * Returns 0 on success, 1 if an operand is not a valid float, 3 if the result is NaN or infinite. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LONG_DOUBLE_CHARS (5 * 1024)

static int parse_ld(const char *s, size_t len, long double *out) {
    char buf[MAX_LONG_DOUBLE_CHARS];
    char *end;
    if (len == 0 || len >= sizeof(buf)) return 0;
    memcpy(buf, s, len);
    buf[len] = '\0';
    errno = 0;
    long double v = strtold(buf, &end);
    /* The whole operand must be the number: strtold stopping at an embedded NUL is not a match. */
    if (isspace((unsigned char)buf[0]) || end != buf + len ||
        (errno == ERANGE && (v == HUGE_VALL || v == -HUGE_VALL || fpclassify(v) == FP_ZERO)) ||
        errno == EINVAL || isnan(v))
        return 0;
    *out = v;
    return 1;
}

int shoal_ld_add(const char *a, size_t alen, const char *b, size_t blen, char *out, size_t outlen) {
    long double x, y;
    if (!parse_ld(a, alen, &x) || !parse_ld(b, blen, &y)) return 1;
    long double sum = x + y;
    if (isnan(sum) || isinf(sum)) return 3;
    int n = snprintf(out, outlen, "%.17Lf", sum);
    if (n < 0 || (size_t)n + 1 > outlen) return 1;
    if (strchr(out, '.') != NULL) {
        char *p = out + n - 1;
        while (*p == '0') { p--; n--; }
        if (*p == '.') n--;
    }
    if (n == 2 && out[0] == '-' && out[1] == '0') { out[0] = '0'; n = 1; }
    out[n] = '\0';
    return 0;
}
