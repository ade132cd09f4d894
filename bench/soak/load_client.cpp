// A steady TLS load for the soak and fault scripts: N keep-alive
// connections, each sending one review after another for a fixed time, with
// exact accounting of what happened to every request. A request is "lost"
// when it was written and no complete response came back (what the API
// server would see as a failed webhook call); a refused connection is
// counted apart (nothing was sent: the API server tries another endpoint).
//
//   load_client PORT BODY_FILE SECONDS CONNECTIONS [CA_FILE [CERT KEY]]
//
// REQUESTS_PER_CONNECTION=N closes each connection after N requests, so new
// handshakes keep happening (for the certificate scenarios).
//
// Prints one summary line of key=value pairs; exit 0 when nothing was lost
// and every answer was a 2xx.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <openssl/err.h>
#include <openssl/ssl.h>

namespace {

struct Totals {
  std::atomic<long> ok{0}, non_2xx{0}, lost{0}, refused{0}, handshake_failed{0}, closed_by_server{0};
  std::mutex mutex;
  std::map<int, long> statuses;
  std::vector<double> latencies_ms;
};

int connect_to(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// 0: no complete response. Sets `close` when the server asked to close.
int read_response(SSL* ssl, std::string& buffer, bool& close) {
  char chunk[16384];
  std::size_t end;
  while ((end = buffer.find("\r\n\r\n")) == std::string::npos) {
    const int n = SSL_read(ssl, chunk, sizeof chunk);
    if (n <= 0) return 0;
    buffer.append(chunk, static_cast<std::size_t>(n));
  }
  std::string head = buffer.substr(0, end);
  for (char& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const int status = std::atoi(head.c_str() + 9);
  std::size_t length = 0;
  if (const auto at = head.find("content-length:"); at != std::string::npos) {
    length = std::strtoul(head.c_str() + at + 15, nullptr, 10);
  }
  close = head.find("connection: close") != std::string::npos;
  while (buffer.size() < end + 4 + length) {
    const int n = SSL_read(ssl, chunk, sizeof chunk);
    if (n <= 0) return 0;
    buffer.append(chunk, static_cast<std::size_t>(n));
  }
  buffer.erase(0, end + 4 + length);
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: %s PORT BODY_FILE SECONDS CONNECTIONS [CA_FILE [CERT KEY]]\n", argv[0]);
    return 2;
  }
  ::signal(SIGPIPE, SIG_IGN);
  const int port = std::atoi(argv[1]);
  std::ifstream in(argv[2], std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  const std::string body = text.str();
  const double seconds = std::atof(argv[3]);
  const int connections = std::atoi(argv[4]);
  const std::string request = "POST /mutate?timeout=10s HTTP/1.1\r\nHost: localhost\r\n"
                              "Content-Type: application/json\r\nContent-Length: " +
                              std::to_string(body.size()) + "\r\n\r\n" + body;

  SSL_CTX* context = SSL_CTX_new(TLS_client_method());
  if (argc > 5 && argv[5][0] != '\0') {
    SSL_CTX_load_verify_locations(context, argv[5], nullptr);
    SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nullptr);
  }
  if (argc > 7) {
    SSL_CTX_use_certificate_chain_file(context, argv[6]);
    SSL_CTX_use_PrivateKey_file(context, argv[7], SSL_FILETYPE_PEM);
  }

  const char* per_connection_text = std::getenv("REQUESTS_PER_CONNECTION");
  const long per_connection = per_connection_text != nullptr ? std::atol(per_connection_text) : 0;
  std::atomic<long> handshakes{0};
  Totals totals;
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::milliseconds(static_cast<long>(seconds * 1000));
  std::vector<std::thread> threads;
  for (int t = 0; t < connections; ++t) {
    threads.emplace_back([&] {
      std::vector<double> latencies;
      while (std::chrono::steady_clock::now() < deadline) {
        const int fd = connect_to(port);
        if (fd < 0) {
          ++totals.refused;
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
          continue;
        }
        SSL* ssl = SSL_new(context);
        SSL_set_fd(ssl, fd);
        if (SSL_connect(ssl) != 1) {
          ++totals.handshake_failed;
          ERR_clear_error();
          SSL_free(ssl);
          ::close(fd);
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
          continue;
        }
        ++handshakes;
        std::string buffer;
        for (long sent = 0; std::chrono::steady_clock::now() < deadline &&
                            (per_connection == 0 || sent < per_connection);
             ++sent) {
          const auto started = std::chrono::steady_clock::now();
          if (SSL_write(ssl, request.data(), static_cast<int>(request.size())) <= 0) {
            // Nothing of the request reached the server's parser before it
            // closed an idle keep-alive connection: not answered, and the
            // client's HTTP library would retry it; counted as lost anyway.
            ++totals.lost;
            break;
          }
          bool close = false;
          const int status = read_response(ssl, buffer, close);
          if (status == 0) {
            ++totals.lost;
            break;
          }
          latencies.push_back(std::chrono::duration<double, std::milli>(
                                  std::chrono::steady_clock::now() - started)
                                  .count());
          if (status >= 200 && status < 300) {
            ++totals.ok;
          } else {
            ++totals.non_2xx;
            const std::lock_guard lock(totals.mutex);
            ++totals.statuses[status];
          }
          if (close) {
            ++totals.closed_by_server;
            break;
          }
        }
        ERR_clear_error();
        SSL_free(ssl);
        ::close(fd);
      }
      const std::lock_guard lock(totals.mutex);
      totals.latencies_ms.insert(totals.latencies_ms.end(), latencies.begin(), latencies.end());
    });
  }
  for (auto& thread : threads) thread.join();
  auto& l = totals.latencies_ms;
  std::sort(l.begin(), l.end());
  const auto pct = [&](double p) {
    return l.empty() ? 0.0 : l[std::min(l.size() - 1, static_cast<std::size_t>(p * static_cast<double>(l.size())))];
  };
  std::printf("ok=%ld non2xx=%ld lost=%ld refused=%ld handshake_failed=%ld closed_by_server=%ld "
              "handshakes=%ld rps=%.0f p50_ms=%.3f p99_ms=%.3f",
              totals.ok.load(), totals.non_2xx.load(), totals.lost.load(), totals.refused.load(),
              totals.handshake_failed.load(), totals.closed_by_server.load(), handshakes.load(),
              static_cast<double>(totals.ok.load() + totals.non_2xx.load()) / seconds, pct(0.5),
              pct(0.99));
  for (const auto& [status, count] : totals.statuses) std::printf(" status_%d=%ld", status, count);
  std::printf("\n");
  SSL_CTX_free(context);
  return totals.lost == 0 && totals.non_2xx == 0 ? 0 : 1;
}
