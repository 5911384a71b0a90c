/** A small SVG bar chart (no dependencies), so the benchmark page carries a picture of its figures. */
export function barChart(
  title: string,
  unit: string,
  groups: Array<{ label: string; bars: Array<{ name: string; value: number }> }>,
): string {
  const width = 760;
  const height = 360;
  const left = 60;
  const bottom = 300;
  const top = 50;
  const colors = ['#2b6cb0', '#dd6b20', '#38a169', '#805ad5'];
  const max = Math.max(1, ...groups.flatMap((g) => g.bars.map((b) => b.value))) * 1.1;
  const groupWidth = (width - left - 20) / groups.length;
  const names = [...new Set(groups.flatMap((g) => g.bars.map((b) => b.name)))];
  const barWidth = Math.min(60, (groupWidth - 20) / names.length);
  const y = (v: number): number => bottom - ((bottom - top) * v) / max;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${width / 2}" y="24" text-anchor="middle" font-size="15">${title}</text>`,
    `<line x1="${left}" y1="${bottom}" x2="${width - 10}" y2="${bottom}" stroke="#333"/>`,
    `<line x1="${left}" y1="${top}" x2="${left}" y2="${bottom}" stroke="#333"/>`,
  ];
  for (let i = 0; i <= 4; i++) {
    const v = (max / 4) * i;
    parts.push(
      `<text x="${left - 6}" y="${y(v) + 4}" text-anchor="end">${v.toFixed(0)}</text>`,
      `<line x1="${left}" y1="${y(v)}" x2="${width - 10}" y2="${y(v)}" stroke="#eee"/>`,
    );
  }
  parts.push(
    `<text x="14" y="${(top + bottom) / 2}" transform="rotate(-90 14 ${(top + bottom) / 2})" text-anchor="middle">${unit}</text>`,
  );
  groups.forEach((g, gi) => {
    const x0 = left + gi * groupWidth + (groupWidth - barWidth * names.length) / 2;
    g.bars.forEach((b) => {
      const i = names.indexOf(b.name);
      const x = x0 + i * barWidth;
      parts.push(
        `<rect x="${x + 2}" y="${y(b.value)}" width="${barWidth - 4}" height="${bottom - y(b.value)}" fill="${colors[i % colors.length]}"/>`,
        `<text x="${x + barWidth / 2}" y="${y(b.value) - 4}" text-anchor="middle" font-size="10">${b.value.toFixed(0)}</text>`,
      );
    });
    parts.push(
      `<text x="${left + gi * groupWidth + groupWidth / 2}" y="${bottom + 18}" text-anchor="middle">${g.label}</text>`,
    );
  });
  names.forEach((n, i) => {
    parts.push(
      `<rect x="${left + i * 150}" y="${height - 24}" width="12" height="12" fill="${colors[i % colors.length]}"/>`,
      `<text x="${left + i * 150 + 18}" y="${height - 14}">${n}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('\n');
}
