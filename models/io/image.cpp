#include "models/io/image.h"

#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "tensor/atomic_write.h"
#include "tensor/error.h"

#define STB_IMAGE_IMPLEMENTATION
#define STBI_FAILURE_USERMSG
#include <stb/stb_image.h>
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>

namespace ha {

// Decoding runs in a forked child process: stb_image has known crashes on malformed files (fuzz_image found a
// SEGV in its JPEG Huffman decoder), and a research tool must answer untrusted input with an error, never a
// crash. The child writes the pixels into a shared mapping sized from the (already validated) header.
Image8 load_image(const std::string& path) {
  require_readable_file(path, "image");
  FILE* f = std::fopen(path.c_str(), "rb");
  HATTN_CHECK_INPUT(f != nullptr, "cannot open image '", path, "'");
  int w = 0, h = 0, comp = 0;
  if (!stbi_info_from_file(f, &w, &h, &comp)) {
    std::fclose(f);
    throw InputError(str("'", path, "' is not a readable image (", stbi_failure_reason(), ")"));
  }
  if (static_cast<int64_t>(w) * h > kMaxImagePixels) {
    std::fclose(f);
    throw InputError(str("'", path, "' is ", w, "x", h, " pixels, over the ", kMaxImagePixels / 1000000, "-megapixel limit"));
  }
  HATTN_CHECK_INPUT(w > 0 && h > 0, "'", path, "' has no pixels");
  std::rewind(f);
  const size_t nbytes = static_cast<size_t>(w) * h * 3;
  constexpr size_t kHeader = 256;  // status and failure reason from the child
  void* shared = mmap(nullptr, kHeader + nbytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (shared == MAP_FAILED) {
    std::fclose(f);
    throw InputError(str("'", path, "': cannot map ", nbytes, " bytes for decoding"));
  }
  char* header = static_cast<char*>(shared);
  unsigned char* pixels = static_cast<unsigned char*>(shared) + kHeader;
  // header[0]: 'D' once the pixels are in place (the verdict; the exit status can be changed by tools such
  // as valgrind's --error-exitcode), 'S' if the size changed, 'F' with the reason from header[1] on failure.
  const pid_t pid = fork();
  if (pid == 0) {  // child: decode, copy, leave without running destructors or atexit handlers
    int cw = 0, ch = 0, cc = 0;
    unsigned char* data = stbi_load_from_file(f, &cw, &ch, &cc, 3);
    if (!data) {
      std::snprintf(header + 1, kHeader - 1, "%s", stbi_failure_reason() ? stbi_failure_reason() : "unknown error");
      header[0] = 'F';
      _exit(2);
    }
    if (cw == w && ch == h) std::memcpy(pixels, data, nbytes);
    header[0] = cw == w && ch == h ? 'D' : 'S';
    stbi_image_free(data);
    _exit(0);
  }
  std::fclose(f);
  int status = 0;
  pid_t waited = -1;
  if (pid > 0)  // a signal (a profiler's or libFuzzer's timer) may interrupt the wait: wait again, or the child
    do waited = waitpid(pid, &status, 0);  // would be left a zombie and a good image reported as an error
    while (waited < 0 && errno == EINTR);
  if (pid < 0 || waited != pid) {
    munmap(shared, kHeader + nbytes);
    throw InputError(str("'", path, "': cannot start the image decoder"));
  }
  const char verdict = header[0];
  const std::string reason(header + 1, strnlen(header + 1, kHeader - 1));
  Image8 img;
  if (WIFEXITED(status) && verdict == 'D') {
    img.width = w;
    img.height = h;
    img.rgb.assign(pixels, pixels + nbytes);
  }
  munmap(shared, kHeader + nbytes);
  if (WIFSIGNALED(status))
    throw InputError(str("'", path, "' could not be decoded: the decoder crashed (signal ", WTERMSIG(status),
                    ") on this malformed image"));
  HATTN_CHECK_INPUT(verdict != 'S', "'", path, "': the image's size changed while decoding");
  HATTN_CHECK_INPUT(verdict == 'D', "'", path, "' could not be decoded (", reason.empty() ? "no reason given" : reason, ")");
  return img;
}

void save_png(const std::string& path, const Image8& img) {
  HATTN_CHECK(img.width > 0 && img.height > 0 && img.rgb.size() == size_t(img.width * img.height * 3),
              "save_png: malformed image for '", path, "'");
  auto to_stream = [](void* stream, void* data, int n) {
    static_cast<std::ostream*>(stream)->write(static_cast<const char*>(data), n);
  };
  write_file_atomically(path, [&](std::ostream& f) {
    HATTN_CHECK(stbi_write_png_to_func(to_stream, &f, static_cast<int>(img.width), static_cast<int>(img.height), 3,
                                       img.rgb.data(), static_cast<int>(img.width * 3)) != 0,
                "save_png: the PNG encoder failed for '", path, "'");
  });
}

}  // namespace ha
