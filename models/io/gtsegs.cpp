#include "models/io/gtsegs.h"

#include <cstring>

#include "models/io/isolated.h"
#include "models/io/reader_jobs.h"
#include "tensor/error.h"

#if HATTN_WITH_HDF5
#include <hdf5.h>
#endif

namespace ha {

#if HATTN_WITH_HDF5
namespace {

constexpr int64_t kMaxItems = 1 << 20;

// Everything below runs in the reader process: errors end the job with out.fail (a reason the caller reports).
struct Reader {
  IsolatedOutput& out;
  hid_t file = -1;

  explicit Reader(IsolatedOutput& o, const std::string& path) : out(o) {
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);  // no HDF5 error stacks on stderr
    file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    if (file < 0) out.fail("not an HDF5 file (MATLAB v7.3 .mat files are HDF5)");
  }

  // The dims of a dataset (at most 4).
  std::vector<hsize_t> dims(hid_t dset, const std::string& what) {
    const hid_t space = H5Dget_space(dset);
    const int rank = space < 0 ? -1 : H5Sget_simple_extent_ndims(space);
    if (rank < 0 || rank > 4) out.fail(what + ": unreadable or unexpected dataspace");
    std::vector<hsize_t> d(rank);
    H5Sget_simple_extent_dims(space, d.data(), nullptr);
    H5Sclose(space);
    return d;
  }

  // The object references of dataset `name` (any shape), which must be N×1 or 1×N for the item lists.
  std::vector<hobj_ref_t> references(hid_t dset, const std::string& what) {
    const hid_t type = H5Dget_type(dset);
    const bool is_ref = type >= 0 && H5Tequal(type, H5T_STD_REF_OBJ) > 0;
    if (type >= 0) H5Tclose(type);
    if (!is_ref) out.fail(what + " does not hold object references");
    hsize_t n = 1;
    for (hsize_t d : dims(dset, what)) n *= d;
    if (n > static_cast<hsize_t>(kMaxItems)) out.fail(what + " holds too many references");
    std::vector<hobj_ref_t> refs(n);
    if (n && H5Dread(dset, H5T_STD_REF_OBJ, H5S_ALL, H5S_ALL, H5P_DEFAULT, refs.data()) < 0)
      out.fail(what + ": cannot read its references");
    return refs;
  }

  hid_t open_list(const char* name) {
    const hid_t d = H5Dopen2(file, name, H5P_DEFAULT);
    if (d < 0) out.fail(std::string("no dataset ") + name + " (not an ImageNet-Segmentation file)");
    return d;
  }

  hid_t deref(hid_t from, const hobj_ref_t& ref, const std::string& what) {
    const hid_t d = H5Rdereference2(from, H5P_DEFAULT, H5R_OBJECT, &ref);
    if (d < 0 || H5Iget_type(d) != H5I_DATASET) out.fail(what + ": a reference to something other than a dataset");
    return d;
  }

  // Item i's image and mask datasets (the caller closes them), checked against the layout.
  void open_item(hid_t imgs, hid_t gts, const hobj_ref_t& img_ref, const hobj_ref_t& gt_ref, int64_t i, hid_t& img,
                 hid_t& mask, int64_t& w, int64_t& h) {
    const std::string at = "item " + std::to_string(i);
    img = deref(imgs, img_ref, at + " image");
    const std::vector<hsize_t> d = dims(img, at + " image");
    if (d.size() != 3 || d[0] != 3 || d[1] == 0 || d[2] == 0 || d[1] * d[2] > uint64_t(kMaxImagePixels))
      out.fail(at + ": the image is not a (3, W, H) array of a sensible size");
    w = static_cast<int64_t>(d[1]);
    h = static_cast<int64_t>(d[2]);
    const hid_t cell = deref(gts, gt_ref, at + " mask cell");
    const std::vector<hobj_ref_t> inner = references(cell, at + " mask cell");
    if (inner.size() != 1) out.fail(at + ": the mask cell does not hold exactly one reference");
    mask = deref(cell, inner[0], at + " mask");
    H5Dclose(cell);
    const std::vector<hsize_t> md = dims(mask, at + " mask");
    if (md.size() != 2 || md[0] != d[1] || md[1] != d[2]) out.fail(at + ": the mask's size differs from the image's");
  }

  void read_u8(hid_t dset, uint8_t* dst, const std::string& what) {
    if (H5Dread(dset, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, dst) < 0) out.fail(what + ": unreadable data");
  }
};

}  // namespace

bool GtSegsFile::available() { return true; }

void gtsegs_index_job(const std::vector<std::string>& args, IsolatedOutput& out) {
  Reader r(out, args.at(0));
  const hid_t imgs = r.open_list("/value/img"), gts = r.open_list("/value/gt");
  const std::vector<hobj_ref_t> img_refs = r.references(imgs, "/value/img");
  const std::vector<hobj_ref_t> gt_refs = r.references(gts, "/value/gt");
  if (img_refs.size() != gt_refs.size())
    out.fail("/value/img has " + std::to_string(img_refs.size()) + " items but /value/gt has " +
             std::to_string(gt_refs.size()));
  if (sizeof(int64_t) * (1 + 2 * img_refs.size()) > out.capacity) out.fail("too many items");
  int64_t* dst = reinterpret_cast<int64_t*>(out.data);
  dst[0] = static_cast<int64_t>(img_refs.size());
  for (size_t i = 0; i < img_refs.size(); ++i) {
    hid_t img, mask;
    r.open_item(imgs, gts, img_refs[i], gt_refs[i], static_cast<int64_t>(i), img, mask, dst[1 + 2 * i], dst[2 + 2 * i]);
    H5Dclose(img);
    H5Dclose(mask);
  }
  out.size = sizeof(int64_t) * (1 + 2 * img_refs.size());
}

void gtsegs_item_job(const std::vector<std::string>& args, IsolatedOutput& out) {
  const int64_t i = std::stoll(args.at(1)), n = std::stoll(args.at(2)), w = std::stoll(args.at(3)),
                h = std::stoll(args.at(4));
  const size_t pixels = static_cast<size_t>(w * h);
  if (pixels * 4 > out.capacity) out.fail("the item is larger than announced");
  Reader r(out, args.at(0));
  const hid_t imgs = r.open_list("/value/img"), gts = r.open_list("/value/gt");
  const std::vector<hobj_ref_t> img_refs = r.references(imgs, "/value/img");
  const std::vector<hobj_ref_t> gt_refs = r.references(gts, "/value/gt");
  if (static_cast<int64_t>(img_refs.size()) != n || img_refs.size() != gt_refs.size() || i < 0 || i >= n)
    out.fail("the file changed while reading");
  hid_t img, mask;
  int64_t cw, ch;
  r.open_item(imgs, gts, img_refs[i], gt_refs[i], i, img, mask, cw, ch);
  if (cw != w || ch != h) out.fail("the file changed while reading");
  std::vector<uint8_t> chw(pixels * 3), m(pixels);
  r.read_u8(img, chw.data(), "item " + std::to_string(i) + " image");
  r.read_u8(mask, m.data(), "item " + std::to_string(i) + " mask");
  // (3, W, H) with H fastest -> row-major H×W×3; (W, H) -> row-major H×W
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < w; ++x) {
      for (int c = 0; c < 3; ++c) out.data[(y * w + x) * 3 + c] = chw[(c * w + x) * h + y];
      out.data[pixels * 3 + y * w + x] = m[x * h + y] ? 1 : 0;
    }
  out.size = pixels * 4;
}

GtSegsFile::GtSegsFile(const std::string& path) : path_(path) {
  require_readable_file(path, ".mat file");
  const std::vector<uint8_t> bytes =
      run_isolated(path, "read", sizeof(int64_t) * (1 + 2 * kMaxItems), "gtsegs-index", {path});
  int64_t n = 0;
  HATTN_CHECK_INPUT(bytes.size() >= sizeof n, "'", path, "' holds no items");
  std::memcpy(&n, bytes.data(), sizeof n);
  HATTN_CHECK_INPUT(n > 0 && n <= kMaxItems && bytes.size() == sizeof(int64_t) * (1 + 2 * n), "'", path,
                    "' holds no items (or the reader's index is malformed)");
  sizes_.resize(n);
  std::memcpy(sizes_.data(), bytes.data() + sizeof n, sizeof(int64_t) * 2 * n);
  for (const auto& [w, h] : sizes_)  // the reader checked these; the parent does not trust another process
    HATTN_CHECK_INPUT(w > 0 && h > 0 && w * h <= kMaxImagePixels, "'", path, "': an item of ", w, "x", h, " pixels");
}

SegmentationItem GtSegsFile::item(int64_t i) const {
  HATTN_CHECK(i >= 0 && i < size(), "GtSegsFile::item: index ", i, " outside [0, ", size(), ")");
  const int64_t w = sizes_[i].first, h = sizes_[i].second;
  const size_t pixels = static_cast<size_t>(w * h);
  const std::vector<uint8_t> bytes =
      run_isolated(path_, "read", pixels * 4, "gtsegs-item",
                   {path_, std::to_string(i), std::to_string(size()), std::to_string(w), std::to_string(h)});
  HATTN_CHECK_INPUT(bytes.size() == pixels * 4, "'", path_, "' item ", i, ": the reader returned ", bytes.size(),
                    " bytes, not ", pixels * 4);
  SegmentationItem it;
  it.image.width = w;
  it.image.height = h;
  it.image.rgb.assign(bytes.begin(), bytes.begin() + pixels * 3);
  it.mask.assign(bytes.begin() + pixels * 3, bytes.end());
  return it;
}

#else

bool GtSegsFile::available() { return false; }

GtSegsFile::GtSegsFile(const std::string& path) : path_(path) {
  throw InputError(str("'", path, "': reading .mat files needs HDF5, and this build has none (install libhdf5-dev, ",
                       "e.g. with scripts/setup.sh, and rebuild)"));
}

SegmentationItem GtSegsFile::item(int64_t) const { throw InputError("GtSegsFile: this build has no HDF5"); }

void gtsegs_index_job(const std::vector<std::string>&, IsolatedOutput& out) { out.fail("this build has no HDF5"); }
void gtsegs_item_job(const std::vector<std::string>&, IsolatedOutput& out) { out.fail("this build has no HDF5"); }

#endif

}  // namespace ha
