/* cublas_peak.c — the GPU's measured bf16 GEMM rate: cuBLAS, bf16 inputs, fp32 accumulation and
 * output (the rate tests/gpu/run.sh states perft's steps against), and the device's copy bandwidth.
 *
 *   cc -O2 bench/cublas_peak.c -I$CUDA/include -L$CUDA/lib64 -lcublas -lcudart -o cublas_peak
 *   ./cublas_peak [N]        (N×N×N GEMMs, default 8192; prints TFLOP/s and GB/s, one line each)
 *
 * Needs a GPU; built only by tests/gpu/run.sh. Every CUDA and cuBLAS call is checked.
 */
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <stdio.h>
#include <stdlib.h>

#define CUDA_CHECK(call)                                                                                  \
  do {                                                                                                    \
    cudaError_t e_ = (call);                                                                              \
    if (e_ != cudaSuccess) {                                                                              \
      fprintf(stderr, "cublas_peak: %s failed at %s:%d: %s\n", #call, __FILE__, __LINE__, cudaGetErrorString(e_)); \
      exit(1);                                                                                            \
    }                                                                                                     \
  } while (0)
#define CUBLAS_CHECK(call)                                                                                \
  do {                                                                                                    \
    cublasStatus_t s_ = (call);                                                                           \
    if (s_ != CUBLAS_STATUS_SUCCESS) {                                                                    \
      fprintf(stderr, "cublas_peak: %s failed at %s:%d: status %d\n", #call, __FILE__, __LINE__, (int)s_); \
      exit(1);                                                                                            \
    }                                                                                                     \
  } while (0)

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 8192;
  size_t elements = (size_t)n * n;
  void *a, *b, *c;
  CUDA_CHECK(cudaMalloc(&a, elements * 2));
  CUDA_CHECK(cudaMalloc(&b, elements * 2));
  CUDA_CHECK(cudaMalloc(&c, elements * 4));
  CUDA_CHECK(cudaMemset(a, 0x3c, elements * 2)); /* bf16 0x3c3c: about 0.0115 */
  CUDA_CHECK(cudaMemset(b, 0x3c, elements * 2));
  cublasHandle_t handle;
  CUBLAS_CHECK(cublasCreate(&handle));
  float one = 1.0f, zero = 0.0f;
  cudaEvent_t start, stop;
  CUDA_CHECK(cudaEventCreate(&start));
  CUDA_CHECK(cudaEventCreate(&stop));
  const int warm = 3, timed = 20;
  float best = 1e30f;
  for (int round = 0; round < 3; round++) {
    for (int i = 0; i < warm; i++)
      CUBLAS_CHECK(cublasGemmEx(handle, CUBLAS_OP_T, CUBLAS_OP_N, n, n, n, &one, a, CUDA_R_16BF, n, b, CUDA_R_16BF, n,
                                &zero, c, CUDA_R_32F, n, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
    CUDA_CHECK(cudaEventRecord(start, 0));
    for (int i = 0; i < timed; i++)
      CUBLAS_CHECK(cublasGemmEx(handle, CUBLAS_OP_T, CUBLAS_OP_N, n, n, n, &one, a, CUDA_R_16BF, n, b, CUDA_R_16BF, n,
                                &zero, c, CUDA_R_32F, n, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
    CUDA_CHECK(cudaEventRecord(stop, 0));
    CUDA_CHECK(cudaEventSynchronize(stop));
    float ms = 0;
    CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
    if (ms / timed < best) best = ms / timed;
  }
  printf("cublas bf16 GEMM %dx%dx%d (fp32 accumulate): %.1f TFLOP/s\n", n, n, n, 2.0 * n * n * (double)n / (best * 1e-3) / 1e12);
  /* device-to-device copy of the fp32 C (read + write): the memory-bandwidth bound of elementwise kernels */
  CUDA_CHECK(cudaEventRecord(start, 0));
  for (int i = 0; i < timed; i++) CUDA_CHECK(cudaMemcpyAsync(a, (char *)c + elements * 2, elements * 2, cudaMemcpyDeviceToDevice, 0));
  CUDA_CHECK(cudaEventRecord(stop, 0));
  CUDA_CHECK(cudaEventSynchronize(stop));
  float ms = 0;
  CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
  printf("device copy: %.0f GB/s (read + write)\n", 2.0 * elements * 2 * timed / (ms * 1e-3) / 1e9);
  CUBLAS_CHECK(cublasDestroy(handle));
  CUDA_CHECK(cudaFree(a));
  CUDA_CHECK(cudaFree(b));
  CUDA_CHECK(cudaFree(c));
  return 0;
}
