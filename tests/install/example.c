/* Built by .ci/run against an installed copy (make install) through
 * pkg-config, to prove the installed header, library and .pc file work. */
#include <clientscan.h>

#include <stdio.h>

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: example IMAGE\n");
        return 2;
    }
    clientscan_pdq_result res;
    clientscan_detail why;
    if (clientscan_hash_file(argv[1], NULL, &res, NULL, &why) != CLIENTSCAN_OK) {
        fprintf(stderr, "%s: %s\n", argv[1], why.text);
        return 1;
    }
    char hex[CLIENTSCAN_PDQ_HEX_BYTES];
    clientscan_pdq_to_hex(&res.hash[0], hex);
    printf("%s,%d,%s\n", hex, res.quality, argv[1]);
    return 0;
}
