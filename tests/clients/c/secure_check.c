/* cnats (libnats) with a client's credentials: a round trip. Usage: secure_check URL
 * [--user U --pass P] [--token T] [--nkey PUBKEY SEEDFILE] [--ca FILE]
 * [--cert FILE --key FILE] [--creds FILE]. Prints "OK" and exits 0. */
#include <nats/nats.h>
#include <stdio.h>
#include <string.h>

#define CHECK(call)                                                                    \
    do {                                                                               \
        natsStatus s_ = (call);                                                        \
        if (s_ != NATS_OK) {                                                           \
            fprintf(stderr, "FAIL: %s: %s\n", #call, nats_GetLastError(NULL));        \
            return 1;                                                                  \
        }                                                                              \
    } while (0)

int main(int argc, char **argv) {
    natsOptions *opts = NULL;
    natsConnection *nc = NULL;
    natsSubscription *sub = NULL;
    natsMsg *msg = NULL;
    const char *cert = NULL, *key = NULL, *user = NULL, *pass = NULL;
    if (argc < 2) {
        fprintf(stderr, "usage: secure_check URL [options]\n");
        return 2;
    }
    CHECK(natsOptions_Create(&opts));
    CHECK(natsOptions_SetURL(opts, argv[1]));
    CHECK(natsOptions_SetTimeout(opts, 5000));
    CHECK(natsOptions_SetAllowReconnect(opts, false));
    for (int i = 2; i < argc; i++) {
        const char *flag = argv[i];
        if (!strcmp(flag, "--user") && i + 1 < argc) {
            user = argv[++i];
        } else if (!strcmp(flag, "--pass") && i + 1 < argc) {
            pass = argv[++i];
        } else if (!strcmp(flag, "--token") && i + 1 < argc) {
            CHECK(natsOptions_SetToken(opts, argv[++i]));
        } else if (!strcmp(flag, "--nkey") && i + 2 < argc) {
            CHECK(natsOptions_SetNKeyFromSeed(opts, argv[i + 1], argv[i + 2]));
            i += 2;
        } else if (!strcmp(flag, "--ca") && i + 1 < argc) {
            CHECK(natsOptions_SetSecure(opts, true));
            CHECK(natsOptions_LoadCATrustedCertificates(opts, argv[++i]));
        } else if (!strcmp(flag, "--cert") && i + 1 < argc) {
            cert = argv[++i];
        } else if (!strcmp(flag, "--key") && i + 1 < argc) {
            key = argv[++i];
        } else if (!strcmp(flag, "--creds") && i + 1 < argc) {
            CHECK(natsOptions_SetUserCredentialsFromFiles(opts, argv[++i], NULL));
        } else if (!strcmp(flag, "--account") && i + 1 < argc) {
            i++; /* checked by the other clients */
        } else {
            fprintf(stderr, "unknown option %s\n", flag);
            return 2;
        }
    }
    if (user != NULL) {
        CHECK(natsOptions_SetUserInfo(opts, user, pass));
    }
    if (cert != NULL) {
        CHECK(natsOptions_LoadCertificatesChain(opts, cert, key));
    }
    CHECK(natsConnection_Connect(&nc, opts));
    CHECK(natsConnection_SubscribeSync(&sub, nc, "secure.echo"));
    CHECK(natsConnection_PublishString(nc, "secure.echo", "hi"));
    CHECK(natsSubscription_NextMsg(&msg, sub, 5000));
    if (strcmp(natsMsg_GetData(msg), "hi") != 0) {
        fprintf(stderr, "FAIL: round trip got %s\n", natsMsg_GetData(msg));
        return 1;
    }
    natsMsg_Destroy(msg);
    natsSubscription_Destroy(sub);
    natsConnection_Destroy(nc);
    natsOptions_Destroy(opts);
    printf("OK\n");
    return 0;
}
