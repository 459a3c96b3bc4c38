/* The client conformance kit's adapter for cnats (Debian's libnats-dev): connects to the URL
 * given as its only argument, follows line commands on stdin and prints events on stdout, as
 * tests/clients/README.md describes. Built with `cc kit_adapter.c -lnats -lpthread`. */
#include <nats/nats.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static pthread_mutex_t out = PTHREAD_MUTEX_INITIALIZER;
static volatile int closed = 0;

static void emit(const char *format, ...) {
    va_list args;
    va_start(args, format);
    pthread_mutex_lock(&out);
    vprintf(format, args);
    putchar('\n');
    fflush(stdout);
    pthread_mutex_unlock(&out);
    va_end(args);
}

static void on_msg(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure) {
    const char *header = NULL;
    (void)nc; (void)sub; (void)closure;
    if (natsMsgHeader_Get(msg, "X-Kit", &header) != NATS_OK || header == NULL) header = "-";
    const char *reply = natsMsg_GetReply(msg);
    emit("msg %s %s %s %.*s", natsMsg_GetSubject(msg), reply && *reply ? reply : "-", header,
         natsMsg_GetDataLength(msg), natsMsg_GetData(msg));
    natsMsg_Destroy(msg);
}

static void on_disconnected(natsConnection *nc, void *closure) { (void)nc; (void)closure; emit("disconnected"); }
static void on_reconnected(natsConnection *nc, void *closure) { (void)nc; (void)closure; emit("reconnected"); }
static void on_closed(natsConnection *nc, void *closure) { (void)nc; (void)closure; closed = 1; emit("closed"); }
static void on_lame_duck(natsConnection *nc, void *closure) { (void)nc; (void)closure; emit("lame_duck"); }
static void on_error(natsConnection *nc, natsSubscription *sub, natsStatus err, void *closure) {
    const char *text = NULL;
    (void)sub; (void)closure;
    /* The status says what kind of error; the connection's last error has the server's text. */
    natsConnection_GetLastError(nc, &text);
    emit("error %s: %s", natsStatus_GetText(err), text ? text : "");
}

#define MAX_SUBS 64
static char *sub_names[MAX_SUBS];
static natsSubscription *subs[MAX_SUBS];

int main(int argc, char **argv) {
    natsOptions *opts = NULL;
    natsConnection *nc = NULL;
    if (argc != 2) {
        fprintf(stderr, "usage: kit_adapter URL\n");
        return 2;
    }
    natsStatus s = natsOptions_Create(&opts);
    if (s == NATS_OK) s = natsOptions_SetURL(opts, argv[1]);
    if (s == NATS_OK) s = natsOptions_SetName(opts, "kit");
    if (s == NATS_OK) s = natsOptions_SetMaxReconnect(opts, -1);
    if (s == NATS_OK) s = natsOptions_SetReconnectWait(opts, 100);
    if (s == NATS_OK) s = natsOptions_SetPingInterval(opts, 500);
    if (s == NATS_OK) s = natsOptions_SetMaxPingsOut(opts, 2);
    if (s == NATS_OK) s = natsOptions_SetDisconnectedCB(opts, on_disconnected, NULL);
    if (s == NATS_OK) s = natsOptions_SetReconnectedCB(opts, on_reconnected, NULL);
    if (s == NATS_OK) s = natsOptions_SetClosedCB(opts, on_closed, NULL);
    if (s == NATS_OK) s = natsOptions_SetLameDuckModeCB(opts, on_lame_duck, NULL);
    if (s == NATS_OK) s = natsOptions_SetErrorHandler(opts, on_error, NULL);
    if (s == NATS_OK) s = natsConnection_Connect(&nc, opts);
    if (s != NATS_OK) {
        emit("fatal %s", natsStatus_GetText(s));
        return 1;
    }
    emit("connected");

    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, stdin)) > 0) {
        if (line[len - 1] == '\n') line[--len] = '\0';
        /* verb, a1, a2, rest (a3) split on the first three spaces */
        char *words[4] = {line, "", "", ""};
        int n = 1;
        for (char *p = line; *p && n < 4; p++) {
            if (*p == ' ') { *p = '\0'; words[n++] = p + 1; }
        }
        const char *verb = words[0];
        char detail[256] = "";
        s = NATS_OK;
        const char *why = NULL;
        if (strcmp(verb, "sub") == 0) {
            int i = 0;
            while (i < MAX_SUBS && sub_names[i]) i++;
            if (i == MAX_SUBS) why = "too many subscriptions";
            else if ((s = natsConnection_Subscribe(&subs[i], nc, words[1], on_msg, NULL)) == NATS_OK)
                sub_names[i] = strdup(words[1]);
        } else if (strcmp(verb, "unsub") == 0) {
            int i = 0;
            while (i < MAX_SUBS && !(sub_names[i] && strcmp(sub_names[i], words[1]) == 0)) i++;
            if (i == MAX_SUBS) why = "no such subscription";
            else {
                s = natsSubscription_Unsubscribe(subs[i]);
                natsSubscription_Destroy(subs[i]);
                free(sub_names[i]);
                sub_names[i] = NULL;
            }
        } else if (strcmp(verb, "pub") == 0) {
            s = natsConnection_Publish(nc, words[1], words[2], (int)strlen(words[2]));
        } else if (strcmp(verb, "pubsize") == 0) {
            int size = atoi(words[2]);
            char *data = malloc((size_t)size + 1);
            memset(data, 'x', (size_t)size);
            s = natsConnection_Publish(nc, words[1], data, size);
            free(data);
        } else if (strcmp(verb, "burst") == 0) {
            int count = atoi(words[2]);
            char number[32];
            for (int i = 0; i < count && s == NATS_OK; i++) {
                int size = snprintf(number, sizeof number, "%d", i);
                s = natsConnection_Publish(nc, words[1], number, size);
            }
        } else if (strcmp(verb, "request") == 0) {
            natsMsg *reply = NULL;
            s = natsConnection_Request(&reply, nc, words[1], words[2], (int)strlen(words[2]),
                                       atoi(words[3]));
            if (s == NATS_NO_RESPONDERS) why = "no_responders";
            else if (s == NATS_TIMEOUT) why = "timeout";
            else if (s == NATS_OK) {
                snprintf(detail, sizeof detail, "%.*s", natsMsg_GetDataLength(reply), natsMsg_GetData(reply));
                natsMsg_Destroy(reply);
            }
        } else if (strcmp(verb, "flush") == 0) {
            s = natsConnection_FlushTimeout(nc, 5000);
        } else if (strcmp(verb, "drain") == 0) {
            s = natsConnection_Drain(nc);
            for (int i = 0; s == NATS_OK && !closed && i < 500; i++) nats_Sleep(20);
            if (s == NATS_OK && !closed) why = "not closed 10 s after drain";
        } else if (strcmp(verb, "close") == 0) {
            natsConnection_Close(nc);
            emit("ok close");
            break;
        } else {
            why = "unknown command";
        }
        if (why) emit("err %s %s", verb, why);
        else if (s != NATS_OK) emit("err %s %s", verb, natsStatus_GetText(s));
        else if (*detail) emit("ok %s %s", verb, detail);
        else emit("ok %s", verb);
    }
    free(line);
    natsConnection_Close(nc);
    natsConnection_Destroy(nc);
    natsOptions_Destroy(opts);
    return 0;
}
