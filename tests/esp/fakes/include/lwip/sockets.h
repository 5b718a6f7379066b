/* Fake lwIP lwip/sockets.h: lwIP's BSD socket API is the host's here. */
#ifndef FAKE_LWIP_SOCKETS_H
#define FAKE_LWIP_SOCKETS_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#endif
