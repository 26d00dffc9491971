/** The lines of the service's Prometheus text (GET /metrics) that start with `prefix`. */
export async function metricLines(baseUrl: string, prefix: string): Promise<string[]> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  return text.split('\n').filter((line) => line.startsWith(prefix));
}
